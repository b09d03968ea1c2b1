// One real training step (forward, loss, backward, SGD) of a model on random data, with the
// device memory the engine measured during it and the plan made before allocating.
#pragma once

#include "engine/engine.hpp"
#include "models/network.hpp"

namespace revnet::cli {

struct StepMeasurement {
    double seconds = 0;  // median of `runs` replays; 0 when runs is 0 (one step only)
    uint64_t savedActivations = 0, workspace = 0, peak = 0, planned = 0;  // bytes
    std::vector<KernelTiming> kernels;  // with profiling: per kernel name, per step
};

StepMeasurement measureStep(Engine& engine, const models::Architecture& arch, models::NetworkOptions options, int runs,
                            bool profile = false);

}  // namespace revnet::cli
