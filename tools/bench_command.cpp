// `revnet bench kernels`: the device's measured peaks (FMA throughput, shader copy bandwidth)
// and each kernel at the shapes of RevNet layers, as the median of repeated runs after warm-up.
#include "tools/commands.hpp"

#include "kernels/dispatch.hpp"
#include "tools/kernel_benchmarks.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace revnet::cli {

namespace {

double peakGflops(Engine& engine, int runs) {
    constexpr uint32_t kGroups = 256, kIterations = 4096;
    const uint32_t kLocal = kernels::workgroupAtMost(engine.device(), 256);
    Tensor out = engine.tensor({1, 1, 1, kLocal * kGroups}, Category::Workspace, "fma probe");
    const Kernel& kernel = engine.pipelines().get("peak_fma", {{0, kLocal}});
    struct Push {
        uint32_t iterations;
        float scale;
    } push{kIterations, 1.0f - 1.0f / (1 << 20)};
    Recorder recorder(engine.device());
    recorder.dispatch(kernel, {out.view()}, push, {kGroups, 1, 1});
    const double seconds = medianSeconds(recorder, runs);
    return double(kLocal) * kGroups * kIterations * 64 / seconds / 1e9;
}

double copyGBs(Engine& engine, int runs) {
    constexpr uint32_t kFloats = 16u << 20;  // 64 MiB each way
    const uint32_t kLocal = kernels::workgroupAtMost(engine.device(), 256);
    const Shape shape{1, 1, 1, kFloats};
    Tensor x = engine.tensor(shape, Category::Workspace, "copy probe source");
    Tensor y = engine.tensor(shape, Category::Workspace, "copy probe target");
    Recorder recorder(engine.device());
    const TensorView views[] = {x, y};
    recorder.dispatch(engine.pipelines().get("peak_copy", {{0, kLocal}}), views, {}, {kFloats / 4 / kLocal, 1, 1});
    return 2.0 * x.bytes() / medianSeconds(recorder, runs) / 1e9;
}

}  // namespace

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
            "for convolutions. --only keeps the rows whose layer names contain TEXT (\"conv\",\n"
            "\"elementwise\", \"RevNet-110\", ...).\n%s",
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

    Engine engine(options);
    std::printf("device: %s (%s)\n\n", engine.info().name.c_str(), deviceTypeName(engine.info().type));
    const double gflops = peakGflops(engine, runs);
    const double copy = copyGBs(engine, runs);
    std::printf("measured peak: %.1f GFLOP/s fp32 FMA, %.2f GB/s shader copy (read + write)\n\n", gflops, copy);

    benchMemoryBound(engine, runs, copy, only);
    benchConvolutions(engine, runs, gflops, only);
    return 0;
}

}  // namespace revnet::cli
