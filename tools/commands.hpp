// The subcommands of `revnet`, one file each. Each returns the process exit code.
#pragma once

#include "tools/command_line.hpp"

#include "revnet/engine/engine.hpp"
#include "revnet/models/network.hpp"
#include "revnet/training/communicator.hpp"

#include <string>

namespace revnet::cli {

int devicesCommand(Arguments& args);
int smokeCommand(Arguments& args);
int benchCommand(Arguments& args);
int modelsCommand(Arguments& args);
int benchStep(Arguments& args);    // `revnet bench step`
int benchLoader(Arguments& args);  // `revnet bench loader`
// processes: the MPI launch this process belongs to, or null when it runs alone.
int trainCommand(Arguments& args, training::Communicator* processes);
int evalCommand(Arguments& args);
int memoryCommand(Arguments& args);
int demoCommand(Arguments& args);  // `revnet demo memory`
// `revnet demo memory --imagenet`, on an engine made from the command's options.
int imagenetMemoryDemo(Engine& engine, const std::string& chart, uint32_t stepBatch);
int selftestCommand(Arguments& args);
int reportCommand(Arguments& args);  // `revnet report RUN_DIR...`

// --coupling MODE, checked (models::setCoupling's text; default "fixed"); a usage error when malformed.
std::string couplingOption(Arguments& args);
constexpr const char* kCouplingHelp =
    "  --coupling MODE  a RevNet's couplings: fixed (default; exact reconstruction), fixed:BITS or\n"
    "                   float (docs/NUMERICS.md)\n";

// --precision fp32|fp16, checked (models::setPrecision's text; default "fp32"); a usage error otherwise.
std::string precisionOption(Arguments& args);
// Refuses (a usage error) fp16 storage under reversible backprop of a RevNet: nothing to halve.
void checkPrecision(const std::string& model, models::Backprop backprop, const std::string& precision);
constexpr const char* kPrecisionHelp =
    "  --precision P    storage of the activations kept for the backward pass: fp32 (default) or\n"
    "                   fp16 (halves, under stored backprop; arithmetic and weights stay fp32;\n"
    "                   docs/NUMERICS.md)\n";

// Engine options from the environment, overridden by --device, --budget and --staging.
EngineOptions engineOptions(Arguments& args);
constexpr const char* kEngineOptionsHelp =
    "  --device SEL     device index or part of its name (default: $REVNET_DEVICE, else the first\n"
    "                   discrete GPU, integrated GPU, virtual GPU, then CPU device)\n"
    "  --budget SIZE    refuse device allocations past SIZE (e.g. 512MiB; default: nine tenths\n"
    "                   of the device memory's budget, see revnet devices)\n"
    "  --staging        copy through host staging buffers even where device memory is mappable\n"
    "  --variant V      kernel shapes for a cpu or gpu device (default: $REVNET_VARIANT, else the\n"
    "                   device's type)\n";

}  // namespace revnet::cli
