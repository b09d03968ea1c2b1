// `revnet bench kernels`: the device's measured peaks (FMA throughput, shader copy bandwidth)
// and each kernel at the shapes of RevNet layers, as the median of repeated runs after warm-up.
#include "tools/commands.hpp"

#include "kernels/conv2d.hpp"
#include "kernels/elementwise.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <functional>

namespace revnet::cli {

namespace {

// Median wall time of `runs` replays of `recorder`, after two warm-up runs.
double medianSeconds(Recorder& recorder, int runs) {
    recorder.run();
    recorder.run();
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        recorder.run();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
}

double peakGflops(Engine& engine, int runs) {
    constexpr uint32_t kLocal = 256, kGroups = 256, kIterations = 4096;
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
    const Shape shape{1, 1, 1, 16u << 20};  // 64 MiB each way
    Tensor x = engine.tensor(shape, Category::Workspace, "copy probe source");
    Tensor y = engine.tensor(shape, Category::Workspace, "copy probe target");
    Recorder recorder(engine.device());
    kernels::copy(engine.pipelines(), recorder, x, y);
    return 2.0 * x.bytes() / medianSeconds(recorder, runs) / 1e9;
}

struct Shapes {
    const char* model;
    Shape activation;  // one half of a unit's activations: what the coupling and ReLUs touch
};

bool matches(const std::string& name, const std::string& only) { return name.find(only) != std::string::npos; }

struct ConvLayer {
    const char* model;
    kernels::Conv2dShape shape;
    bool first = false;  // the network's first layer
};

// The distinct convolution shapes of the models at batch 128, 32x32 inputs. RevNet residual
// functions see half a unit's channels.
std::vector<ConvLayer> convLayers() {
    auto conv = [](uint32_t c, uint32_t hw, uint32_t k, uint32_t kernel, uint32_t stride) {
        return kernels::Conv2dShape{{128, c, hw, hw}, k, kernel, kernel, stride, kernel / 2};
    };
    return {
        {"RevNet-110 stem", conv(3, 32, 32, 3, 1), true},
        {"RevNet-110 stage 1", conv(16, 32, 16, 3, 1)},
        {"RevNet-110 stage 2 in", conv(16, 32, 32, 3, 2)},
        {"RevNet-110 stage 2", conv(32, 16, 32, 3, 1)},
        {"RevNet-110 stage 3 in", conv(32, 16, 64, 3, 2)},
        {"RevNet-110 stage 3", conv(64, 8, 64, 3, 1)},
        {"RevNet-38 stage 3 in", conv(32, 16, 56, 3, 2)},
        {"RevNet-38 stage 3", conv(56, 8, 56, 3, 1)},
        {"RevNet-164 1x1 reduce", conv(64, 32, 16, 1, 1)},
        {"RevNet-164 1x1 expand", conv(16, 32, 64, 1, 1)},
    };
}

// Each pass of each layer; the geometric mean of the RevNet-110 3x3 rows is what the bar is set on.
void benchConvolutions(Engine& engine, int runs, double peak, const std::string& only) {
    std::printf("\n%-24s %-12s %-17s %6s %10s %9s %8s\n", "convolution", "pass", "input", "K,k,s", "median us",
                "GFLOP/s", "of peak");
    auto& p = engine.pipelines();
    const char* passes[] = {"forward", "grad input", "grad weight"};
    double logSum[3] = {0, 0, 0};
    int counted = 0;
    for (const auto& layer : convLayers()) {
        if (!matches(std::string(layer.model) + " convolution", only)) continue;
        const kernels::Conv2d conv(engine.info(), layer.shape);
        const auto& s = layer.shape;
        Tensor x = engine.tensor(s.input, Category::Workspace, "x");
        Tensor y = engine.tensor(s.output(), Category::Workspace, "y");
        Tensor w = engine.tensor(s.weight(), Category::Workspace, "w");
        Tensor dw = engine.tensor(s.weight(), Category::Workspace, "dw");
        Tensor work = engine.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "work");
        const bool inBar = std::string(layer.model).starts_with("RevNet-110") && s.kernelH == 3;
        counted += inBar;
        for (int pass = 0; pass < 3; ++pass) {
            if (pass == 1 && layer.first) continue;  // nothing needs the gradient of the images
            Recorder recorder(engine.device());
            if (pass == 0) conv.forward(p, recorder, x, w, y, work);
            if (pass == 1) conv.gradInput(p, recorder, y, w, x, work);
            if (pass == 2) conv.gradWeight(p, recorder, x, y, dw, work);
            const double seconds = medianSeconds(recorder, runs);
            const double gflops = s.flops() / seconds / 1e9;
            if (inBar) logSum[pass] += std::log(gflops);
            char geometry[32];
            std::snprintf(geometry, sizeof geometry, "%u,%u,%u", s.outChannels, s.kernelH, s.stride);
            std::printf("%-24s %-12s %-17s %6s %10.0f %9.1f %7.0f%%\n", layer.model, passes[pass],
                        toString(s.input).c_str(), geometry, seconds * 1e6, gflops, 100 * gflops / peak);
        }
    }
    if (counted) std::printf("RevNet-110 3x3 geometric mean: forward %.1f, grad input %.1f, grad weight %.1f GFLOP/s\n",
                std::exp(logSum[0] / counted), std::exp(logSum[1] / (counted - 1)), std::exp(logSum[2] / counted));
}

}  // namespace

int benchCommand(Arguments& args) {
    if (args.help()) {
        std::printf(
            "usage: revnet bench kernels [--runs N] [--only TEXT] [engine options]\n\n"
            "Measures the device's peaks (fp32 FMA throughput, shader copy bandwidth), then times each\n"
            "kernel at the activation shapes of RevNet layers at batch 128 on 32x32 inputs: the median\n"
            "of N runs (default 9) after two warm-up runs, in GB/s for memory-bound kernels and GFLOP/s\n"
            "for convolutions. --only keeps the rows whose layer names contain TEXT (\"conv\",\n"
            "\"elementwise\", \"RevNet-110\", ...).\n%s",
            kEngineOptionsHelp);
        return 0;
    }
    if (!args.word("kernels")) throw UsageError("say what to measure: revnet bench kernels");
    const int runs = static_cast<int>(args.count("runs", 9));
    const std::string only = args.option("only").value_or("");
    EngineOptions options = engineOptions(args);
    args.finish();
    if (runs < 1) throw UsageError("--runs must be at least 1");

    Engine engine(options);
    std::printf("device: %s (%s)\n\n", engine.info().name.c_str(), deviceTypeName(engine.info().type));
    const double gflops = peakGflops(engine, runs);
    const double copy = copyGBs(engine, runs);
    std::printf("measured peak: %.1f GFLOP/s fp32 FMA, %.2f GB/s shader copy (read + write)\n\n", gflops, copy);

    const std::vector<Shapes> shapes = {
        {"stage 1 (RevNet-38/110)", {128, 16, 32, 32}},
        {"stage 2 (RevNet-38/110)", {128, 32, 16, 16}},
        {"stage 3 (RevNet-110)", {128, 64, 8, 8}},
        {"stage 1 (RevNet-164)", {128, 64, 32, 32}},
    };
    std::printf("%-26s %-16s %-15s %10s %10s %8s\n", "layer", "kernel", "shape", "median us", "GB/s",
                "of copy");
    auto& p = engine.pipelines();
    for (const auto& s : shapes) {
        if (!matches(std::string(s.model) + " elementwise", only)) continue;
        Tensor a = engine.tensor(s.activation, Category::Workspace, "a");
        Tensor b = engine.tensor(s.activation, Category::Workspace, "b");
        Tensor c = engine.tensor(s.activation, Category::Workspace, "c");
        struct Case {
            const char* name;
            int floatsMoved;  // per element, reads + writes
            std::function<void(Recorder&)> record;
        };
        const std::vector<Case> cases = {
            {"copy", 2, [&](Recorder& r) { kernels::copy(p, r, a, b); }},
            {"coupling", 3, [&](Recorder& r) { kernels::couplingForward(p, r, a, b); }},
            {"relu forward", 2, [&](Recorder& r) { kernels::reluForward(p, r, a, b); }},
            {"relu backward", 3, [&](Recorder& r) { kernels::reluBackward(p, r, a, b, c); }},
        };
        for (const auto& k : cases) {
            Recorder recorder(engine.device());
            k.record(recorder);
            const double seconds = medianSeconds(recorder, runs);
            const double gbs = double(k.floatsMoved) * a.bytes() / seconds / 1e9;
            std::printf("%-26s %-16s %-15s %10.0f %10.2f %7.0f%%\n", s.model, k.name, toString(s.activation).c_str(),
                        seconds * 1e6, gbs, 100 * gbs / copy);
        }
    }
    benchConvolutions(engine, runs, gflops, only);
    return 0;
}

}  // namespace revnet::cli
