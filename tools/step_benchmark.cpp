// `revnet bench step`: whole training steps (forward, loss, backward, SGD) of the models on
// random data, timed, with the device memory the engine measured during them by category.
#include "tools/commands.hpp"

#include "revnet/models/network.hpp"
#include "tools/kernel_benchmarks.hpp"
#include "tools/step_measurement.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>
#include <vector>

namespace revnet::cli {

namespace {

uint64_t plannedStepBytes(Engine& engine, const models::Architecture& arch, const models::NetworkOptions& options) {
    uint64_t bytes = 0;
    for (const auto& t : models::planTensors(arch, options, engine.info())) bytes += engine.memory().chargedSize(t.elements * 4);
    return bytes;
}

}  // namespace

StepRecording::StepRecording(Engine& engine, const models::Architecture& arch, models::NetworkOptions options, bool profile)
    : planned_(plannedStepBytes(engine, arch, options)),
      net_(engine, arch, options),
      momentum_(engine.tensor(net_.weights().shape(), Category::OptimizerState, "momentum")),
      hyper_(engine.tensor({1, 1, 1, 1}, Category::OptimizerState, "learning rate")),
      recorder_(engine.device(), RecorderOptions{profile}) {
    planned_ += engine.memory().chargedSize(momentum_.bytes()) + engine.memory().chargedSize(hyper_.bytes());
    net_.initialize(1);
    engine.upload(momentum_, std::vector<float>(momentum_.shape().elements(), 0.0f));
    engine.upload(hyper_, std::vector<float>{0.01f});

    std::mt19937 random(3);
    std::normal_distribution<float> normal;
    std::vector<float> images(net_.input().shape().elements());
    for (auto& v : images) v = normal(random);
    std::vector<uint32_t> labels(options.batch);
    for (auto& l : labels) l = random() % arch.classes;
    engine.upload(net_.input(), images);
    engine.uploadBytes(net_.labels(), std::as_bytes(std::span(labels)));

    net_.recordTrainingStep(recorder_);
    net_.recordSgdUpdate(recorder_, momentum_, hyper_, {0.9f, 2e-4f, false});
}

StepMeasurement measureStep(Engine& engine, const models::Architecture& arch, models::NetworkOptions options, int runs,
                            bool profile) {
    MemoryLedger& ledger = engine.memory().ledger();
    ledger.resetPeaks();
    StepRecording step(engine, arch, options, profile);
    StepMeasurement m;
    m.planned = step.plannedBytes();
    m.flops = step.recorder().flopsPerRun();
    step.recorder().run();  // warm-up: compiles the pipelines
    // The step's memory, before the probe's buffer joins it.
    m.savedActivations = ledger.peak(Category::Activations);
    m.workspace = ledger.peak(Category::Workspace);
    m.peak = ledger.peakTotal();
    if (runs > 0) {
        // The machine is shared, and its speed drifts between a peak measured once and steps
        // minutes later: each step is paired with a probe run just before it.
        std::optional<FmaProbe> probe;
        try {
            probe.emplace(engine);
        } catch (const BudgetExceeded&) {
            // No room for the probe's buffer: the step's share of the peak is left to the caller.
        }
        const PairedTiming t = timeAgainstProbe(probe ? &*probe : nullptr, step.recorder(), m.flops, runs);
        m.seconds = t.seconds, m.pairedPeakGflops = t.peakGflops, m.peakShare = t.peakShare;
    }
    const int replays = 1 + (runs > 0 ? 2 + runs : 0);
    for (KernelTiming t : step.recorder().timings()) {
        t.count /= replays;
        t.totalMs /= replays;
        t.flops /= replays;
        m.kernels.push_back(t);
    }
    return m;
}

namespace {

const char* kHelp =
    "usage: revnet bench step [MODEL...] [--batch N] [--input CxHxW] [--classes K]\n"
    "                         [--backprop reversible|stored|both] [--runs N] [--profile]\n"
    "                         [--coupling MODE] [--precision P] [--compare coupling|precision]\n"
    "                         [engine options]\n\n"
    "Times training steps (forward, loss, backward and an SGD update, recorded once and replayed)\n"
    "of each model (default: revnet-38) on random data: the median of N runs (default 3) after one\n"
    "warm-up, in ms and images/s, with the peak device memory the engine measured by category and\n"
    "the plan made before allocating. RevNets run with reversible backprop, stored backprop, or\n"
    "both (default both; both also times N alternating pairs of reversible and stored steps and\n"
    "prints the median ratio); ResNets always store, and so do RevNets under --precision fp16.\n"
    "Defaults: batch 128, 3x32x32 inputs, 10 classes.\n"
    "Speed is also given as the convolution FLOPs a step executes (recomputation included) per\n"
    "second, and as a share of the device's fp32 FMA peak: each timed step follows a run of the\n"
    "peak's probe, and the share is the median over those pairs (a shared machine's speed drifts).\n"
    "  --profile        after each row, the device time per step of each kernel (timestamp\n"
    "                   queries around every dispatch; steps run slower with them)\n"
    "  --compare WHAT   after each model's rows, the median step-time ratio over N alternating\n"
    "                   pairs of its last row's options against the other coupling (float) or the\n"
    "                   other precision\n%s%s%s";

double mib(uint64_t bytes) { return bytes / (1024.0 * 1024.0); }

// Each kernel's device time per step and share; for the convolutions also their GFLOP/s and
// the share of the device's measured FMA peak they reach.
void printProfile(const std::vector<KernelTiming>& kernels, double peak) {
    if (kernels.empty()) {
        std::printf("  kernel timings unavailable: the device has no timestamp queries on its compute queue\n\n");
        return;
    }
    double total = 0;
    for (const auto& k : kernels) total += k.totalMs;
    std::printf("  %-28s %10s %12s %7s %9s %8s\n", "kernel", "per step", "ms per step", "share", "GFLOP/s", "of peak");
    for (const auto& k : kernels) {
        std::printf("  %-28s %10llu %12.1f %6.1f%%", k.name.c_str(), static_cast<unsigned long long>(k.count), k.totalMs,
                    100.0 * k.totalMs / total);
        if (k.flops > 0) std::printf(" %9.1f %7.0f%%", k.gflops(), 100 * k.gflops() / peak);
        std::printf("\n");
    }
    std::printf("  %-28s %10s %12.1f\n\n", "all kernels", "", total);
}

// Whether a step's plan fits what the budget leaves; otherwise says so in the table.
bool fits(Engine& engine, const models::Architecture& arch, const models::NetworkOptions& options, const char* mode) {
    const uint64_t planned = plannedStepBytes(engine, arch, options);
    const MemoryLedger& ledger = engine.memory().ledger();
    const uint64_t room = *ledger.budget() > ledger.total() ? *ledger.budget() - ledger.total() : 0;
    if (planned <= room) return true;
    std::printf("%-11s %-10s %5u  plans %.1f MiB, past the %.1f MiB budget: not run\n", arch.spec.name.c_str(), mode,
                options.batch, mib(planned), mib(*ledger.budget()));
    std::fflush(stdout);
    return false;
}

// Returns whether the step ran (its plan fit the budget).
bool benchOne(Engine& engine, const models::Architecture& arch, models::NetworkOptions options, int runs, bool profile,
              double peak) {
    const bool reversible = arch.spec.family == models::Family::RevNet && options.backprop == models::Backprop::Reversible;
    if (!fits(engine, arch, options, reversible ? "reversible" : "stored")) return false;
    const StepMeasurement m = measureStep(engine, arch, options, runs, profile);
    const double gflops = m.flops / m.seconds / 1e9;
    const double share = m.peakShare > 0 ? m.peakShare : gflops / peak;
    std::printf("%-11s %-10s %5u %9.0f %8.1f %9.1f %6.0f%% %10.1f %10.1f %10.1f %10.1f %10.1f\n", arch.spec.name.c_str(),
                reversible ? "reversible" : "stored", options.batch, m.seconds * 1e3, options.batch / m.seconds, gflops,
                100 * share, mib(m.savedActivations), mib(m.workspace), mib(m.savedActivations + m.workspace),
                mib(m.peak), mib(m.planned));
    if (profile) printProfile(m.kernels, m.pairedPeakGflops > 0 ? m.pairedPeakGflops : peak);
    std::fflush(stdout);  // rows come minutes apart on a CPU device
    return true;
}

// Step time with options `a` over options `b`, the median over alternating replays: on a shared
// machine the load drifts between two table rows minutes apart, far less between two neighbouring
// steps. Only where the two plans fit the budget together.
void printAlternatingRatio(Engine& engine, const models::Architecture& arch, const models::NetworkOptions& a,
                           const models::NetworkOptions& b, const std::string& what, int pairs) {
    const MemoryLedger& ledger = engine.memory().ledger();
    if (plannedStepBytes(engine, arch, a) + plannedStepBytes(engine, arch, b) > *ledger.budget() - ledger.total()) return;
    StepRecording first(engine, arch, a), second(engine, arch, b);
    first.recorder().run();
    second.recorder().run();
    std::vector<double> ratios;
    for (int i = 0; i < pairs; ++i) {  // each goes first in every other pair: no bias to either place
        const double a = i % 2 ? 0 : secondsOf(first.recorder()), b = secondsOf(second.recorder());
        ratios.push_back((i % 2 ? secondsOf(first.recorder()) : a) / b);
    }
    std::printf("%-11s %s step time: %.3fx (median of %d alternating pairs)\n", arch.spec.name.c_str(), what.c_str(),
                median(ratios), pairs);
    std::fflush(stdout);
}

}  // namespace

int benchStep(Arguments& args) {
    if (args.help()) {
        std::printf(kHelp, kCouplingHelp, kPrecisionHelp, kEngineOptionsHelp);
        return 0;
    }
    const auto batch = static_cast<uint32_t>(args.count("batch", 128, kMaxBatch));
    const ImageShape input = parseImageShape(args.option("input").value_or("3x32x32"), "--input");
    const auto classes = static_cast<uint32_t>(args.count("classes", 10, kMaxClasses));
    const std::string mode = args.option("backprop").value_or("both");
    const int runs = static_cast<int>(args.count("runs", 3, 100000));
    const bool profile = args.flag("profile");
    const std::string coupling = couplingOption(args), precision = precisionOption(args);
    const std::string compare = args.option("compare").value_or("");
    const EngineOptions engineOpts = engineOptions(args);
    auto names = args.rest();
    args.finish();
    if (mode != "both" && mode != "reversible" && mode != "stored")
        throw UsageError("--backprop takes reversible, stored or both, not '" + mode + "'");
    if (batch == 0 || classes == 0 || runs < 1) throw UsageError("--batch, --classes and --runs must be at least 1");
    if (!compare.empty() && compare != "coupling" && compare != "precision")
        throw UsageError("--compare takes coupling or precision, not '" + compare + "'");
    if (names.empty()) names = {"revnet-38"};

    Engine engine(engineOpts);
    const double peak = peakGflops(engine, 5);
    std::printf("device: %s; median of %d step%s after warm-up; memory in MiB, measured by the engine;\n"
                "measured fp32 FMA peak %.1f GFLOP/s (of peak: each step against a probe run just before it,\n"
                "the median of those pairs); conv GFLOP/s counts recomputed convolutions too\n\n",
                engine.info().name.c_str(), runs, runs > 1 ? "s" : "", peak);
    std::printf("%-11s %-10s %5s %9s %8s %9s %7s %10s %10s %10s %10s %10s\n", "model", "backprop", "batch", "ms/step",
                "images/s", "conv GF/s", "of peak", "saved act", "workspace", "act+work", "peak", "planned");
    for (const auto& name : names) {
        const auto arch = models::expand(models::modelByName(name), input.c, input.h, input.w, classes);
        models::NetworkOptions o;
        o.batch = batch;
        models::setCoupling(o, coupling);
        models::setPrecision(o, precision);
        const bool rev = arch.spec.family == models::Family::RevNet;
        bool ran = true;
        if (rev && precision == "fp16" && mode == "reversible") checkPrecision(name, models::Backprop::Reversible, precision);
        if ((!rev || mode != "stored") && !(rev && precision == "fp16")) ran = benchOne(engine, arch, o, runs, profile, peak);  // ResNets always store
        if (rev && mode != "reversible") {
            o.backprop = models::Backprop::Stored;
            ran = benchOne(engine, arch, o, runs, profile, peak) && ran;
        }
        if (!ran) continue;
        if (rev && mode == "both" && precision == "fp32") {
            models::NetworkOptions reversible = o;
            reversible.backprop = models::Backprop::Reversible;
            printAlternatingRatio(engine, arch, reversible, o, "reversible / stored", runs);
        }
        // o is the last row's options: the other setting of the compared option against them.
        models::NetworkOptions other = o;
        if (compare == "coupling" && rev && o.coupling == models::Coupling::FixedPoint) {
            other.coupling = models::Coupling::Float;
            printAlternatingRatio(engine, arch, o, other, models::couplingName(o) + " / float couplings", runs);
        }
        if (compare == "precision") {
            other.precision = o.precision == models::Precision::Float16 ? models::Precision::Float32 : models::Precision::Float16;
            printAlternatingRatio(engine, arch, o, other, models::precisionName(o) + " / " + models::precisionName(other) + " storage", runs);
        }
    }
    return 0;
}

}  // namespace revnet::cli
