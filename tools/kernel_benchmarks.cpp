#include "tools/kernel_benchmarks.hpp"

#include "revnet/kernels/augment.hpp"
#include "revnet/kernels/batch_norm.hpp"
#include "revnet/kernels/conv2d.hpp"
#include "kernels/dispatch.hpp"
#include "revnet/kernels/elementwise.hpp"
#include "revnet/kernels/linear.hpp"
#include "revnet/kernels/loss.hpp"
#include "revnet/kernels/pooling.hpp"
#include "revnet/kernels/sgd.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace revnet::cli {

double median(std::vector<double> values) {
    std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
    return values[values.size() / 2];
}

double secondsOf(Recorder& recorder) {
    const auto start = std::chrono::steady_clock::now();
    recorder.run();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double medianSeconds(Recorder& recorder, int runs) { return timeAgainstProbe(nullptr, recorder, 0, runs).seconds; }


namespace {
bool matches(const std::string& name, const std::string& only) { return name.find(only) != std::string::npos; }
}  // namespace

namespace {

struct Activation {
    const char* layer;
    Shape shape;  // one half of a unit's activations: what F and G see
};

std::vector<Activation> memoryShapes() {
    return {
        {"stage 1 (RevNet-38/110)", {128, 16, 32, 32}},
        {"stage 2 (RevNet-38/110)", {128, 32, 16, 16}},
        {"stage 3 (RevNet-110)", {128, 64, 8, 8}},
        {"stage 1 (RevNet-164)", {128, 64, 32, 32}},
    };
}

// The input pipeline and the optimizer's rows go by this name.
constexpr const char* kInputAndOptimizer = "input and optimizer memory";

bool rowsMatch(const Activation& s, const std::string& only) { return matches(std::string(s.layer) + " memory", only); }

bool memoryRowsMatch(const std::string& only) {
    const auto shapes = memoryShapes();
    return matches(kInputAndOptimizer, only) ||
           std::any_of(shapes.begin(), shapes.end(), [&](const Activation& s) { return rowsMatch(s, only); });
}

struct MemoryCase {
    const char* kernel;
    double bytes;  // moved per run: reads + writes
    std::function<void(Recorder&)> record;
};

void printMemoryRow(Engine& engine, int runs, double copy, const char* layer, const std::string& shape,
                    const MemoryCase& k) {
    Recorder recorder(engine.device());
    k.record(recorder);
    const double seconds = medianSeconds(recorder, runs);
    const double gbs = k.bytes / seconds / 1e9;
    std::printf("%-24s %-22s %-15s %10.0f %8.2f %7.0f%%\n", layer, k.kernel, shape.c_str(), seconds * 1e6, gbs,
                100 * gbs / copy);
}

}  // namespace

void benchMemoryBound(Engine& engine, int runs, double copy, const std::string& only) {
    if (!memoryRowsMatch(only)) return;
    const std::vector<Activation> shapes = memoryShapes();
    std::printf("%-24s %-22s %-15s %10s %8s %8s\n", "memory-bound", "kernel", "shape", "median us", "GB/s", "of copy");
    auto& p = engine.pipelines();
    for (const auto& s : shapes) {
        if (!rowsMatch(s, only)) continue;
        const Shape& a = s.shape;
        const Shape pooled{a.n, 2 * a.c, a.h / 2, a.w / 2}, params{1, 1, 1, a.c}, pair{1, 1, 1, 2 * a.c};
        Tensor x = engine.tensor(a, Category::Workspace, "x"), y = engine.tensor(a, Category::Workspace, "y");
        Tensor z = engine.tensor(a, Category::Workspace, "z"), down = engine.tensor(pooled, Category::Workspace, "pooled");
        Tensor gamma = engine.tensor(params, Category::Workspace, "gamma"), beta = engine.tensor(params, Category::Workspace, "beta");
        Tensor stats = engine.tensor(pair, Category::Workspace, "stats"), running = engine.tensor(pair, Category::Workspace, "running");
        Tensor dgamma = engine.tensor(params, Category::Workspace, "dgamma"), dbeta = engine.tensor(params, Category::Workspace, "dbeta");
        Tensor vec = engine.tensor({a.n, a.c, 1, 1}, Category::Workspace, "pooled vector");
        engine.upload(running, std::vector<float>(pair.elements(), 1.0f));
        engine.upload(stats, std::vector<float>(pair.elements(), 1.0f));
        const double f = double(x.bytes());
        // Room for the split reductions' partial sums, as a network plans it.
        Tensor partials = engine.tensor({1, 1, 1, uint32_t(std::max<uint64_t>(kernels::batchNormPartials(a.c, a.n), 1))},
                                        Category::Workspace, "batch-norm partial sums");
        kernels::BatchNormOptions relu;
        relu.relu = true;
        relu.partials = partials.view();
        kernels::BatchNormOptions plain;
        plain.partials = partials.view();
        const std::vector<MemoryCase> cases = {
            {"copy", 2 * f, [&](Recorder& r) { kernels::copy({p, r}, x, y); }},
            {"coupling", 3 * f, [&](Recorder& r) { kernels::couplingForward({p, r}, x, y); }},
            {"relu forward", 2 * f, [&](Recorder& r) { kernels::reluForward({p, r}, x, y); }},
            {"relu backward", 3 * f, [&](Recorder& r) { kernels::reluBackward({p, r}, x, y, z); }},
            {"bn statistics", f, [&](Recorder& r) { kernels::batchNormStatistics({p, r}, x, stats, running, true, plain); }},
            {"bn+relu forward", 2 * f, [&](Recorder& r) { kernels::batchNormForward({p, r}, x, stats, gamma, beta, y, relu); }},
            {"bn+relu backward (2)", 5 * f,
             [&](Recorder& r) { kernels::batchNormBackward({p, r}, x, y, stats, gamma, beta, dgamma, dbeta, z, false, relu); }},
            {"avg pool 2x2 + pad", 1.5 * f, [&](Recorder& r) { kernels::avgPool2x2Forward({p, r}, x, down, a.c / 2); }},
            {"avg pool 2x2 backward", 1.25 * f, [&](Recorder& r) { kernels::avgPool2x2Backward({p, r}, down, x, a.c / 2, false); }},
            {"global avg pool", f, [&](Recorder& r) { kernels::globalAvgPoolForward({p, r}, x, vec); }},
        };
        for (const auto& k : cases) printMemoryRow(engine, runs, copy, s.layer, toString(a), k);
    }
    if (!matches(kInputAndOptimizer, only)) return;
    // The input pipeline on a CIFAR batch, and SGD over RevNet-110's 1.73 M parameters.
    const Shape batch{128, 3, 32, 32}, parameters{1, 1, 1, 1729194};
    Tensor images = engine.tensor({1, 1, 1, uint32_t(batch.elements() / 4)}, Category::Workspace, "images");
    Tensor norm = engine.tensor({1, 1, 1, 6}, Category::Workspace, "normalization");
    Tensor steps = engine.tensor({1, 1, 1, 1}, Category::Workspace, "steps");
    Tensor out = engine.tensor(batch, Category::Workspace, "batch");
    engine.upload(norm, std::vector<float>{0.5f, 0.5f, 0.5f, 0.25f, 0.25f, 0.25f});
    Tensor w = engine.tensor(parameters, Category::Workspace, "w"), g = engine.tensor(parameters, Category::Workspace, "g");
    Tensor v = engine.tensor(parameters, Category::Workspace, "v"), hyper = engine.tensor({1, 1, 1, 1}, Category::Workspace, "lr");
    const double pb = double(w.bytes());
    const std::vector<MemoryCase> cases = {
        {"augment (crop, flip)", 1.25 * double(out.bytes()),
         [&](Recorder& r) { kernels::augmentImages({p, r}, images, 0, norm, steps, 0, out, {4, true, 1, 0}); }},
        {"sgd (momentum, decay)", 5 * pb,
         [&](Recorder& r) { kernels::sgdStep({p, r}, w, g, v, hyper, 0, {0.9f, 2e-4f, false}); }},
    };
    printMemoryRow(engine, runs, copy, "input pipeline", toString(batch), cases[0]);
    printMemoryRow(engine, runs, copy, "RevNet-110 parameters", toString(parameters), cases[1]);
}

namespace {

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
        {"RevNet-164 s2 1x1 reduce", conv(128, 16, 32, 1, 1)},
        {"RevNet-164 s2 1x1 expand", conv(32, 16, 128, 1, 1)},
    };
}

bool rowsMatch(const ConvLayer& l, const std::string& only) { return matches(std::string(l.model) + " convolution", only); }

bool convolutionRowsMatch(const std::string& only) {
    const auto layers = convLayers();
    return std::any_of(layers.begin(), layers.end(), [&](const ConvLayer& l) { return rowsMatch(l, only); });
}

}  // namespace

bool benchRowsMatch(const std::string& only) { return memoryRowsMatch(only) || convolutionRowsMatch(only); }

// The passes timed. A training step runs the "+ bn" ones (the CPU variant applies the layer's
// pre-activation batch norm and ReLU as it loads its input); the plain ones are what the bar is
// set on. "fwd+bn, stats" is a forward pass followed by the next batch norm's statistics of its
// output, as a step runs it where the pass cannot take them; "fwd+bn+stats" takes them as it
// stores (OutputStats).
enum class ConvPass { Forward, GradInput, GradWeight, ForwardNorm, GradWeightNorm, ForwardThenStats, ForwardStats };
constexpr ConvPass kConvPasses[] = {ConvPass::Forward,        ConvPass::GradInput,        ConvPass::GradWeight,
                                    ConvPass::ForwardNorm,    ConvPass::GradWeightNorm,   ConvPass::ForwardThenStats,
                                    ConvPass::ForwardStats};
constexpr const char* kConvPassNames[] = {"forward",     "grad input",    "grad weight", "forward + bn",
                                          "grad w + bn", "fwd+bn, stats", "fwd+bn+stats"};

// Each pass of each layer; the geometric mean of the RevNet-110 3x3 rows is what the bar is set on.
void benchConvolutions(Engine& engine, int runs, const std::string& only) {
    if (!convolutionRowsMatch(only)) return;
    const auto layers = convLayers();
    std::printf("\n%-24s %-13s %-17s %6s %10s %9s %8s\n", "convolution", "pass", "input", "K,k,s", "median us",
                "GFLOP/s", "of peak");
    auto& p = engine.pipelines();
    // About a row's length (2.1 GFLOP), so that each pair sees the machine in one state.
    FmaProbe probe(engine, 512);
    constexpr size_t kPasses = std::size(kConvPasses);
    double logSum[kPasses] = {}, logShareSum[kPasses] = {};
    int counted[kPasses] = {};
    std::vector<double> probePeaks;
    for (const auto& layer : layers) {
        if (!rowsMatch(layer, only)) continue;
        const kernels::Conv2d conv(engine.info(), layer.shape);
        const auto& s = layer.shape;
        Tensor x = engine.tensor(s.input, Category::Workspace, "x");
        Tensor y = engine.tensor(s.output(), Category::Workspace, "y");
        Tensor w = engine.tensor(s.weight(), Category::Workspace, "w");
        Tensor dw = engine.tensor(s.weight(), Category::Workspace, "dw");
        Tensor work = engine.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "work");
        // The input's batch norm: unit variance, and a shift that keeps half a standard normal.
        Tensor stats = engine.tensor({1, 1, 1, 2 * s.input.c}, Category::Workspace, "statistics");
        Tensor gamma = engine.tensor({1, 1, 1, s.input.c}, Category::Workspace, "gamma");
        Tensor beta = engine.tensor({1, 1, 1, s.input.c}, Category::Workspace, "beta");
        std::vector<float> meanVar(2 * s.input.c, 0.0f);
        std::fill(meanVar.begin() + s.input.c, meanVar.end(), 1.0f);
        engine.upload(stats, meanVar);
        engine.upload(gamma, std::vector<float>(s.input.c, 1.0f));
        engine.upload(beta, std::vector<float>(s.input.c, 0.0f));
        const kernels::InputNorm norm{stats, gamma, beta};
        // The next batch norm's statistics of y, and the partials either way of taking them needs.
        const uint32_t k = s.outChannels;
        Tensor outStats = engine.tensor({1, 1, 1, 4 * k}, Category::Workspace, "output statistics");
        const uint64_t partialCount = std::max({kernels::batchNormPartials(k, s.input.n), conv.outputStatsPartials(), uint64_t{1}});
        Tensor partials = engine.tensor({1, 1, 1, uint32_t(partialCount)}, Category::Workspace, "partials");
        kernels::BatchNormOptions statsOptions;
        statsOptions.partials = partials.view();
        const kernels::OutputStats taken{outStats.view().prefix(2 * k), outStats.view().range(2 * k, 2 * k), true, 0.1f,
                                         partials.view()};
        const bool inBar = std::string(layer.model).starts_with("RevNet-110") && s.kernelH == 3;
        for (size_t pass = 0; pass < kPasses; ++pass) {
            const ConvPass what = kConvPasses[pass];
            if (what == ConvPass::GradInput && layer.first) continue;  // nothing needs the gradient of the images
            // The stem's input is the images, not normalized; the GPU variant never normalizes.
            const bool normed = what != ConvPass::Forward && what != ConvPass::GradInput && what != ConvPass::GradWeight;
            if (normed && (layer.first || !conv.normalizesInput())) continue;
            if (what == ConvPass::ForwardStats && conv.outputStatsPartials() == 0) continue;
            Recorder recorder(engine.device());
            const kernels::InputNorm* n = normed ? &norm : nullptr;
            if (what == ConvPass::Forward || what == ConvPass::ForwardNorm || what == ConvPass::ForwardThenStats)
                conv.forward({p, recorder}, x, w, y, work, kernels::ConvOutput::Write, nullptr, n);
            if (what == ConvPass::ForwardThenStats)
                kernels::batchNormStatistics({p, recorder}, y, taken.stats, taken.running, true, statsOptions);
            if (what == ConvPass::ForwardStats && !conv.forward({p, recorder}, x, w, y, work, kernels::ConvOutput::Write, nullptr, n, &taken))
                throw std::logic_error("bench: " + std::string(layer.model) + "'s forward pass did not take its statistics");
            if (what == ConvPass::GradInput) conv.gradInput({p, recorder}, y, w, x, work);
            if (what == ConvPass::GradWeight || what == ConvPass::GradWeightNorm) conv.gradWeight({p, recorder}, x, y, dw, work, n);
            const PairedTiming t = timeAgainstProbe(&probe, recorder, s.flops(), runs);
            const double seconds = t.seconds, gflops = s.flops() / seconds / 1e9;
            probePeaks.push_back(t.peakGflops);
            if (inBar) logSum[pass] += std::log(gflops), logShareSum[pass] += std::log(t.peakShare), ++counted[pass];
            char geometry[32];
            std::snprintf(geometry, sizeof geometry, "%u,%u,%u", s.outChannels, s.kernelH, s.stride);
            std::printf("%-24s %-13s %-17s %6s %10.0f %9.1f %7.0f%%\n", layer.model, kConvPassNames[pass],
                        toString(s.input).c_str(), geometry, seconds * 1e6, gflops, 100 * t.peakShare);
        }
    }
    if (!probePeaks.empty())
        std::printf("the probe beside the rows: median %.1f GFLOP/s (range %.1f-%.1f)\n", median(probePeaks),
                    *std::min_element(probePeaks.begin(), probePeaks.end()),
                    *std::max_element(probePeaks.begin(), probePeaks.end()));
    auto mean = [&](ConvPass pass) { return std::exp(logSum[size_t(pass)] / counted[size_t(pass)]); };
    auto share = [&](ConvPass pass) { return 100 * std::exp(logShareSum[size_t(pass)] / counted[size_t(pass)]); };
    if (counted[0] && counted[1] && counted[2])
        std::printf("RevNet-110 3x3 geometric mean (stem: no grad input): forward %.1f GFLOP/s (%.0f%% of peak), "
                    "grad input %.1f (%.0f%%), grad weight %.1f (%.0f%%)\n",
                    mean(ConvPass::Forward), share(ConvPass::Forward), mean(ConvPass::GradInput),
                    share(ConvPass::GradInput), mean(ConvPass::GradWeight), share(ConvPass::GradWeight));
    if (counted[3] && counted[4])
        std::printf("  with the input's batch norm (no stem): forward %.1f GFLOP/s (%.0f%%), grad weight %.1f (%.0f%%)\n",
                    mean(ConvPass::ForwardNorm), share(ConvPass::ForwardNorm), mean(ConvPass::GradWeightNorm),
                    share(ConvPass::GradWeightNorm));
}

FmaProbe::FmaProbe(Engine& engine, uint32_t iterations)
    : out_(engine.tensor({1, 1, 1, kernels::workgroupAtMost(engine.device(), 256) * 256}, Category::Workspace, "fma probe")),
      recorder_(engine.device()) {
    constexpr uint32_t kGroups = 256;
    if (iterations == 0 || iterations % 4 != 0) throw std::logic_error("FmaProbe: iterations must be a positive multiple of 4");
    const uint32_t local = uint32_t(out_.shape().elements() / kGroups);
    struct Push {
        uint32_t iterations;
        float scale;
    } push{iterations, 1.0f - 1.0f / (1 << 20)};
    recorder_.dispatch(engine.pipelines().get("peak_fma", {{"WORKGROUP_X", local}}), {out_.view()}, push, {kGroups, 1, 1});
    flops_ = double(local) * kGroups * iterations * 64;
}

double FmaProbe::gflops() { return flops_ / secondsOf(recorder_) / 1e9; }

PairedTiming timeAgainstProbe(FmaProbe* probe, Recorder& work, double flops, int runs) {
    if (probe) probe->recorder().run();
    work.run();
    work.run();
    std::vector<double> seconds, peaks, shares;
    for (int i = 0; i < runs; ++i) {
        const double peak = probe ? probe->gflops() : 0;
        seconds.push_back(secondsOf(work));
        if (!probe) continue;
        peaks.push_back(peak);
        shares.push_back(flops / seconds.back() / 1e9 / peak);
    }
    PairedTiming t{median(std::move(seconds))};
    if (probe) t.peakGflops = median(std::move(peaks)), t.peakShare = median(std::move(shares));
    return t;
}

double peakGflops(Engine& engine, int runs) {
    FmaProbe probe(engine);
    return probe.flops() / medianSeconds(probe.recorder(), runs) / 1e9;
}

double copyGBs(Engine& engine, int runs) {
    constexpr uint32_t kFloats = 16u << 20;  // 64 MiB each way
    const uint32_t kLocal = kernels::workgroupAtMost(engine.device(), 256);
    const Shape shape{1, 1, 1, kFloats};
    Tensor x = engine.tensor(shape, Category::Workspace, "copy probe source");
    Tensor y = engine.tensor(shape, Category::Workspace, "copy probe target");
    const bool texels = kernels::fitsTexels(engine.device(), x, 4);
    Recorder recorder(engine.device());
    const TensorView views[] = {x, y, kernels::texelBinding(texels, x)};
    recorder.dispatch(engine.pipelines().get("peak_copy", {{"WORKGROUP_X", kLocal}, {"TEXELS", texels ? 1u : 0u}}), views, {},
                      {kFloats / 4 / kLocal, 1, 1});
    return 2.0 * x.bytes() / medianSeconds(recorder, runs) / 1e9;
}


}  // namespace revnet::cli
