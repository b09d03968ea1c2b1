// `revnet selftest`: what a user runs on a new GPU before trusting it. Every kernel, in both
// variants, at representative and awkward shapes against the double-precision references; the
// storage-buffer path the texel limit forces and a grid the workgroup count caps (on an engine
// with those limits lowered); half storage's rounding; a reversible-versus-stored gradient check;
// three training steps whose loss must fall. A table, and exit 1 on any failure.
#include "tools/commands.hpp"

#include "revnet/kernels/batch_norm.hpp"
#include "revnet/kernels/conv2d.hpp"
#include "revnet/kernels/half_storage.hpp"
#include "revnet/kernels/linear.hpp"
#include "revnet/kernels/loss.hpp"
#include "revnet/kernels/pooling.hpp"
#include "revnet/models/network.hpp"
#include "reference/reference.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

namespace revnet::cli {

namespace {

using kernels::Variant;

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

struct Check {
    std::string kernel, variant, shape;
    double error = 0, tolerance = 0;
    bool pass = false;
};

const char* variantName(Variant v) { return v == Variant::Cpu ? "cpu" : v == Variant::Gpu ? "gpu" : "-"; }

class SelfTest {
public:
    explicit SelfTest(bool verbose) : verbose_(verbose) {}

    // Compares by the largest error relative to the largest |expected| (NaN never passes).
    void compare(const std::string& kernel, Variant variant, const std::string& shape, std::span<const float> actual,
                 const ref::Values& expected, double tolerance) {
        const ref::Error e = ref::compare(actual, expected);
        add({kernel, variantName(variant), shape, e.finite ? e.relativeMax : INFINITY, tolerance,
             e.finite && e.relativeMax <= tolerance});
    }
    void add(Check check) {
        if (verbose_ || !check.pass) print(check);
        checks_.push_back(std::move(check));
    }
    int failures() const {
        int n = 0;
        for (const auto& c : checks_) n += !c.pass;
        return n;
    }
    std::size_t count() const { return checks_.size(); }
    static void header() { std::printf("%-40s %-4s %-28s %9s %8s  %s\n", "check", "var", "shape", "error", "limit", "verdict"); }

private:
    static void print(const Check& c) {
        std::printf("%-40s %-4s %-28s %9.2e %8.0e  %s\n", c.kernel.c_str(), c.variant.c_str(), c.shape.c_str(), c.error,
                    c.tolerance, c.pass ? "ok" : "FAILED");
        std::fflush(stdout);
    }
    bool verbose_;
    std::vector<Check> checks_;
};

std::vector<float> randomValues(std::size_t n, std::mt19937& random) {
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = uniform(random);
    return v;
}

Tensor filled(Engine& e, Shape s, const std::vector<float>& values, const char* name) {
    Tensor t = e.tensor(s, Category::Other, name);
    e.upload(t, values);
    return t;
}

Tensor poisoned(Engine& e, Shape s, const char* name) {
    return filled(e, s, std::vector<float>(s.elements(), kPoison), name);
}

Shape flat(std::size_t n) { return {1, 1, 1, uint32_t(n)}; }

// Sums of up to a few thousand products in float32: 1e-4 of the largest value.
constexpr double kSumTolerance = 1e-4;

void checkConv(SelfTest& t, Engine& e, Variant variant, const kernels::Conv2dShape& s, std::mt19937& random,
               const std::string& note = "") {
    const kernels::Conv2d conv(e.info(), s, variant);
    const Shape out = s.output();
    const auto x = randomValues(s.input.elements(), random), dy = randomValues(out.elements(), random);
    const auto w = randomValues(s.weight().elements(), random);
    Tensor tx = filled(e, s.input, x, "x"), tdy = filled(e, out, dy, "dy"), tw = filled(e, s.weight(), w, "w");
    Tensor ty = poisoned(e, out, "y"), tdx = poisoned(e, s.input, "dx"), tdw = poisoned(e, s.weight(), "dw");
    Tensor work = e.tensor(flat(conv.workspaceElements()), Category::Workspace, "workspace");
    Recorder recorder(e.device());
    conv.forward({e.pipelines(), recorder}, tx, tw, ty, work);
    conv.gradInput({e.pipelines(), recorder}, tdy, tw, tdx, work);
    conv.gradWeight({e.pipelines(), recorder}, tx, tdy, tdw, work);
    recorder.run();
    const ref::ConvGeometry g{s.input, s.outChannels, s.kernelH, s.kernelW, s.stride, s.pad};
    const std::string shape = toString(s.input) + " k" + std::to_string(s.outChannels) + " " +
                              std::to_string(s.kernelH) + "x" + std::to_string(s.kernelW) + "/" + std::to_string(s.stride);
    const auto xd = ref::widen(x), dyd = ref::widen(dy), wd = ref::widen(w);
    t.compare("conv2d forward" + note, variant, shape, e.download(ty), ref::convForward(g, xd, wd), kSumTolerance);
    t.compare("conv2d grad input" + note, variant, shape, e.download(tdx), ref::convGradInput(g, dyd, wd), kSumTolerance);
    t.compare("conv2d grad weight" + note, variant, shape, e.download(tdw), ref::convGradWeight(g, xd, dyd), kSumTolerance);
}

void checkBatchNorm(SelfTest& t, Engine& e, Variant variant, Shape s, std::mt19937& random) {
    kernels::BatchNormOptions options;
    options.relu = true;
    const auto x = randomValues(s.elements(), random), dy = randomValues(s.elements(), random);
    const auto gamma = randomValues(s.c, random), beta = randomValues(s.c, random);
    Tensor tx = filled(e, s, x, "x"), tdy = filled(e, s, dy, "dy");
    Tensor tg = filled(e, flat(s.c), gamma, "gamma"), tb = filled(e, flat(s.c), beta, "beta");
    Tensor stats = poisoned(e, flat(2 * s.c), "stats"), running = filled(e, flat(2 * s.c), std::vector<float>(2 * s.c, 0.0f), "running");
    Tensor ty = poisoned(e, s, "y"), tdx = poisoned(e, s, "dx");
    Tensor tdg = poisoned(e, flat(s.c), "dgamma"), tdb = poisoned(e, flat(s.c), "dbeta");
    options.variant = variant;
    Recorder recorder(e.device());
    kernels::batchNormStatistics({e.pipelines(), recorder}, tx, stats, running, true, options);
    kernels::batchNormForward({e.pipelines(), recorder}, tx, stats, tg, tb, ty, options);
    kernels::batchNormBackward({e.pipelines(), recorder}, tx, tdy, stats, tg, tb, tdg, tdb, tdx, false, options);
    recorder.run();
    const auto xd = ref::widen(x), gd = ref::widen(gamma), bd = ref::widen(beta);
    const auto f = ref::batchNormForward(s, xd, gd, bd, options.eps, true);
    const auto b = ref::batchNormBackward(s, xd, ref::widen(dy), gd, bd, options.eps, true);
    t.compare("batch norm + relu forward", variant, toString(s), e.download(ty), f.y, kSumTolerance);
    t.compare("batch norm + relu grad input", variant, toString(s), e.download(tdx), b.dx, 1e-3);
    t.compare("batch norm grad gamma", variant, toString(s), e.download(tdg), b.dgamma, 1e-3);
    t.compare("batch norm grad beta", variant, toString(s), e.download(tdb), b.dbeta, kSumTolerance);
}

void checkHead(SelfTest& t, Engine& e, const std::string& note, Shape s, uint32_t classes, std::mt19937& random) {
    const Shape pooled{s.n, s.c, 1, 1};
    const kernels::LinearShape fc{s.n, s.c, classes};
    const auto x = randomValues(s.elements(), random);
    const auto w = randomValues(std::size_t(classes) * s.c, random), b = randomValues(classes, random);
    std::vector<uint32_t> labels(s.n);
    for (auto& l : labels) l = random() % classes;
    Tensor tx = filled(e, s, x, "x"), tw = filled(e, flat(w.size()), w, "w"), tb = filled(e, flat(classes), b, "b");
    Tensor tp = poisoned(e, pooled, "pooled"), tl = poisoned(e, flat(std::size_t(s.n) * classes), "logits");
    Tensor tlabels = e.tensor(flat(s.n), Category::Other, "labels");
    e.uploadBytes(tlabels, std::as_bytes(std::span(labels)));
    Tensor tdl = poisoned(e, flat(std::size_t(s.n) * classes), "dlogits"), metrics = poisoned(e, flat(2), "metrics");
    Recorder recorder(e.device());
    kernels::globalAvgPoolForward({e.pipelines(), recorder}, tx, tp);
    kernels::linearForward({e.pipelines(), recorder}, fc, tp, tw, tb, tl);
    kernels::softmaxCrossEntropy({e.pipelines(), recorder}, s.n, classes, tl, tlabels, tdl, metrics, 1.0f / s.n, false);
    recorder.run();
    const auto pooledRef = ref::globalAvgPool(s, ref::widen(x));
    const auto logitsRef = ref::linear(s.n, s.c, classes, pooledRef, ref::widen(w), ref::widen(b));
    const auto ce = ref::softmaxCrossEntropy(s.n, classes, logitsRef, labels);
    const std::string shape = toString(s) + " -> " + std::to_string(classes);
    t.compare("global average pool" + note, Variant::Auto, shape, e.download(tp), pooledRef, 1e-5);
    t.compare("fully connected" + note, Variant::Auto, shape, e.download(tl), logitsRef, kSumTolerance);
    t.compare("softmax cross-entropy grad" + note, Variant::Auto, shape, e.download(tdl), ce.dlogits, kSumTolerance);
    const auto m = e.download(metrics);
    t.compare("softmax cross-entropy loss" + note, Variant::Auto, shape, std::span(m).first(1), {ce.lossSum}, kSumTolerance);
}

// Gradients of one step agree between rebuilding activations and keeping them. A ReLU input
// within rounding of its kink may flip between the two and move gradients by a few percent
// (docs/PORTABILITY.md); a wrong kernel moves them by order one.
void checkReversible(SelfTest& t, Engine& e, Variant variant) {
    const auto arch = models::expand(models::modelByName("revnet-38"), 3, 16, 16, 10);
    models::NetworkOptions options;
    options.batch = 8;
    options.backprop = models::Backprop::Reversible;
    models::Network reversible(e, arch, options);
    options.backprop = models::Backprop::Stored;
    models::Network stored(e, arch, options);
    std::mt19937 random(2);
    reversible.initialize(11);
    stored.initialize(11);
    const auto images = randomValues(reversible.input().shape().elements(), random);
    std::vector<uint32_t> labels(options.batch);
    for (auto& l : labels) l = random() % arch.classes;
    for (const auto* net : {&reversible, &stored}) {
        e.upload(net->input(), images);
        e.uploadBytes(net->labels(), std::as_bytes(std::span(labels)));
    }
    Recorder r1(e.device()), r2(e.device());
    reversible.recordTrainingStep(r1);
    stored.recordTrainingStep(r2);
    r1.run();
    r2.run();
    const auto g2 = e.download(stored.gradients());
    t.compare("reversible vs stored gradients", variant, "revnet-38 8x3x16x16", e.download(reversible.gradients()),
              ref::widen(g2), 5e-2);
}

// Three SGD steps on one batch: the loss must fall at each.
void checkTraining(SelfTest& t, Engine& e, Variant variant) {
    const auto arch = models::expand(models::modelByName("revnet-20"), 3, 16, 16, 10);
    models::NetworkOptions options;
    options.batch = 16;
    models::Network net(e, arch, options);
    net.initialize(5);
    std::mt19937 random(4);
    e.upload(net.input(), randomValues(net.input().shape().elements(), random));
    std::vector<uint32_t> labels(options.batch);
    for (auto& l : labels) l = random() % arch.classes;
    e.uploadBytes(net.labels(), std::as_bytes(std::span(labels)));
    Tensor momentum = filled(e, net.weights().shape(), std::vector<float>(net.weights().shape().elements(), 0.0f), "momentum");
    Tensor rate = filled(e, flat(1), {0.05f}, "learning rate");
    Recorder recorder(e.device());
    net.recordTrainingStep(recorder);
    net.recordSgdUpdate(recorder, momentum, rate, {0.9f, 0.0f, false});
    std::vector<float> losses;
    for (int step = 0; step < 4; ++step) {
        recorder.run();
        losses.push_back(e.download(net.metrics())[0] / options.batch);
    }
    bool falling = std::isfinite(losses[0]);
    for (std::size_t i = 1; i < losses.size(); ++i) falling = falling && losses[i] < losses[i - 1];
    char shape[64];
    std::snprintf(shape, sizeof shape, "revnet-20 %.2f>%.2f>%.2f>%.2f", losses[0], losses[1], losses[2], losses[3]);
    // The error column: the last loss over the first, which must be below 1 and fall at each step.
    t.add({"three training steps, loss falls", variantName(variant), shape, losses[3] / losses[0], 1, falling});
}

// Half storage (--precision fp16) on values of every binade of binary16 and past it, exact ties
// and subnormals, stored (rounded in place) and loaded back: the error column counts the values
// that differ from the host's rounding, of either copy.
void checkHalfStorage(SelfTest& t, Engine& e, std::mt19937& random) {
    const Shape s{3, 5, 7, 9};
    std::vector<float> x(s.elements());
    std::uniform_real_distribution<double> mantissa(1.0, 2.0);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double sign = random() % 2 ? -1.0 : 1.0;
        const int exponent = int(random() % 48) - 30;  // 2^-30 to 2^17
        x[i] = float(i % 2 ? sign * std::ldexp(mantissa(random), exponent)
                           : sign * std::ldexp(1.0 + (random() % 1024 + 0.5) / 1024.0, std::max(exponent, -14)));
    }
    Tensor tx = filled(e, s, x, "x"), ty = filled(e, s, std::vector<float>(s.elements(), kPoison), "y");
    Tensor packed = e.tensor({s.n, 1, 1, uint32_t(kernels::packedLength(uint64_t{s.c} * s.h * s.w))}, Category::Other, "halves");
    Recorder recorder(e.device());
    kernels::storeHalf({e.pipelines(), recorder}, tx, packed);
    kernels::loadHalf({e.pipelines(), recorder}, packed, ty);
    recorder.run();
    const auto rounded = e.download(tx), loaded = e.download(ty);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double expected = ref::nearestHalf(x[i]);
        wrong += !ref::sameHalf(rounded[i], expected) + !ref::sameHalf(loaded[i], expected);
    }
    t.add({"half storage: round, store, load", "-", toString(s), double(wrong), 0, wrong == 0});
}

void runChecks(SelfTest& t, Engine& e, Variant variant, bool quick, std::mt19937& random) {
    using kernels::Conv2dShape;
    // Awkward: odd sizes, a stride-2 transpose, 1x1, one channel, a 5x5 kernel.
    for (const Conv2dShape& s : {Conv2dShape{{3, 5, 7, 9}, 7, 3, 3, 2, 1}, Conv2dShape{{2, 17, 9, 9}, 5, 1, 1, 1, 0},
                                 Conv2dShape{{1, 1, 13, 11}, 3, 5, 5, 1, 2}})
        checkConv(t, e, variant, s, random);
    // Representative: RevNet layers at a small batch.
    if (!quick)
        for (const Conv2dShape& s : {Conv2dShape{{8, 16, 32, 32}, 16, 3, 3, 1, 1}, Conv2dShape{{8, 32, 16, 16}, 64, 3, 3, 2, 1},
                                     Conv2dShape{{8, 64, 8, 8}, 16, 1, 1, 1, 0}})
            checkConv(t, e, variant, s, random);
    checkBatchNorm(t, e, variant, {3, 5, 7, 9}, random);
    if (!quick) checkBatchNorm(t, e, variant, {16, 32, 16, 16}, random);
    checkReversible(t, e, variant);
    checkTraining(t, e, variant);
}

}  // namespace

int selftestCommand(Arguments& args) {
    if (args.help()) {
        std::printf(
            "usage: revnet selftest [--quick] [--verbose] [engine options]\n\n"
            "Checks this device before you trust it with a run: every kernel, in its CPU- and GPU-shaped\n"
            "variants, at representative and awkward shapes against double-precision host references;\n"
            "the storage-buffer convolutions a small texel limit forces and a grid the workgroup count\n"
            "caps (on an engine with those limits lowered); half storage's rounding (--precision fp16);\n"
            "reversible against stored gradients; three training steps whose loss must fall. Prints\n"
            "failures (every check with --verbose) and a summary; exits 1 if any check fails.\n\n"
            "  --quick          awkward shapes only (under a minute on lavapipe)\n"
            "  --verbose        print every check, not only failures\n%s",
            kEngineOptionsHelp);
        return 0;
    }
    EngineOptions options = engineOptions(args);
    const bool quick = args.flag("quick"), verbose = args.flag("verbose");
    args.finish();
    const auto start = std::chrono::steady_clock::now();
    SelfTest t(verbose);
    std::mt19937 random(20261130);
    std::string device;
    // One engine per variant, so that every kernel the models use takes that variant's shapes.
    for (Variant v : {Variant::Cpu, Variant::Gpu}) {
        EngineOptions o = options;
        o.kernelShapes = v == Variant::Cpu ? VK_PHYSICAL_DEVICE_TYPE_CPU : VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
        Engine e(o);
        if (device.empty()) {
            device = e.info().name;
            std::printf("revnet selftest on %s (%s, %s)%s\n", device.c_str(), deviceTypeName(e.info().type),
                        e.info().driver.c_str(), quick ? ", quick" : "");
            SelfTest::header();
            checkHead(t, e, "", {5, 7, 3, 3}, 10, random);
            if (!quick) checkHead(t, e, "", {128, 64, 8, 8}, 100, random);
            checkHalfStorage(t, e, random);
        }
        runChecks(t, e, v, quick, random);
    }
    {
        // The path a small texel limit forces elsewhere (SwiftShader: 65536), on this device.
        EngineOptions lowered = options;
        lowered.limits = LimitOverrides::parse("maxTexelBufferElements=4096");
        Engine e(lowered);
        for (Variant v : {Variant::Cpu, Variant::Gpu})
            checkConv(t, e, v, {{4, 8, 17, 15}, 8, 3, 3, 1, 1}, random, ", storage loads");
    }
    {
        // 1-D grids capped at two workgroups: every invocation loops over many elements.
        EngineOptions lowered = options;
        lowered.limits = LimitOverrides::parse("maxComputeWorkGroupCount=2");
        Engine e(lowered);
        checkHead(t, e, ", capped grid", {37, 29, 2, 2}, 11, random);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (t.failures()) {
        std::printf("selftest FAILED: %d of %zu checks on %s (%.0f s)\n", t.failures(), t.count(), device.c_str(), seconds);
        return 1;
    }
    std::printf("selftest passed: %zu checks on %s (%.0f s)\n", t.count(), device.c_str(), seconds);
    return 0;
}

}  // namespace revnet::cli
