// `revnet bench kernels`: the device's measured peaks (FMA throughput, shader copy bandwidth)
// and each kernel at the shapes of RevNet layers, as the median of repeated runs after warm-up.
#include "tools/commands.hpp"

#include "kernels/dispatch.hpp"
#include "tools/kernel_benchmarks.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace revnet::cli {


int benchCommand(Arguments& args) {
    if (args.word("step")) return benchStep(args);
    if (args.word("loader")) return benchLoader(args);
    if (args.help()) {
        std::printf(
            "usage: revnet bench kernels [--runs N] [--only TEXT] [engine options]\n"
            "       revnet bench step [MODEL...] [options]   (see revnet bench step --help)\n"
            "       revnet bench loader [options]            (see revnet bench loader --help)\n\n"
            "Measures the device's peaks (fp32 FMA throughput, shader copy bandwidth), then times each\n"
            "kernel at the activation shapes of RevNet layers at batch 128 on 32x32 inputs: the median\n"
            "of N runs (default 9) after two warm-up runs, in GB/s for memory-bound kernels and GFLOP/s\n"
            "for convolutions. Each run of a convolution follows a short run of the FMA probe, and its\n"
            "share of the peak is the median over those pairs (a shared machine's speed drifts).\n"
            "--only keeps the rows whose table and layer names contain TEXT (\"convolution\", \"memory\",\n"
            "\"RevNet-110\", \"stage 2\", ...).\n%s",
            kEngineOptionsHelp);
        return 0;
    }
    if (!args.word("kernels"))
        throw UsageError("say what to measure: revnet bench kernels, revnet bench step or revnet bench loader");
    const int runs = static_cast<int>(args.count("runs", 9, 100000));
    const std::string only = args.option("only").value_or("");
    EngineOptions options = engineOptions(args);
    args.finish();
    if (runs < 1) throw UsageError("--runs must be at least 1");
    if (!benchRowsMatch(only))
        throw UsageError("--only \"" + only + "\" matches no row (try \"conv\", \"memory\", \"RevNet-110\", \"stage 2\")");

    Engine engine(options);
    std::printf("device: %s (%s)\n\n", engine.info().name.c_str(), deviceTypeName(engine.info().type));
    const double gflops = peakGflops(engine, runs);
    const double copy = copyGBs(engine, runs);
    std::printf("measured peak: %.1f GFLOP/s fp32 FMA, %.2f GB/s shader copy (read + write)\n\n", gflops, copy);

    benchMemoryBound(engine, runs, copy, only);
    benchConvolutions(engine, runs, only);
    return 0;
}

}  // namespace revnet::cli
