#include "tools/commands.hpp"

#include "revnet/engine/pipelines.hpp"

#include <cstdio>

namespace revnet::cli {

EngineOptions engineOptions(Arguments& args) {
    EngineOptions options = EngineOptions::fromEnvironment();
    if (options.pipelineCache)
        if (const auto problem = pipelineCacheProblem(*options.pipelineCache))
            std::fprintf(stderr, "revnet: warning: %s\n", problem->c_str());
    if (auto device = args.option("device")) options.device = *device;
    if (auto budget = args.option("budget")) options.budget = parseBytes(*budget, "--budget");
    if (args.flag("staging")) options.forceStaging = true;
    if (auto variant = args.option("variant")) {
        try {
            options.kernelShapes = kernelShapesFromName(*variant);
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string("--variant: ") + e.what());
        }
    }
    return options;
}

int devicesCommand(Arguments& args) {
    if (args.help()) {
        std::printf(
            "usage: revnet devices [--device SEL]\n\n"
            "Lists every Vulkan device with its type, driver, memory heaps and the limits the engine\n"
            "relies on, and marks the one that would be used.\n\n"
            "  --device SEL     mark this device instead of the default choice\n");
        return 0;
    }
    std::string selector = EngineOptions::fromEnvironment().device;
    if (auto device = args.option("device")) selector = *device;
    args.finish();

    const Instance instance(validationFromEnvironment());
    const auto devices = enumerateDevices(instance.handle(), LimitOverrides::fromEnvironment());
    const std::size_t chosen = selectDevice(devices, selector);
    for (const auto& d : devices) {
        std::printf("%s%s", d.index == chosen ? "* " : "  ", describeDevice(d).c_str());
    }
    std::printf("\n* the device revnet uses%s\n", selector.empty() ? " by default" : (" for '" + selector + "'").c_str());
    return 0;
}

}  // namespace revnet::cli
