// Convolution forward, grad-input and grad-weight against double-precision loops, for both kernel
// variants, over awkward shapes: batch 1 to 3, channels 1/3/5/9/13/17/70, sizes 1/4/7/9/28/32, 1x1 and
// 3x3 kernels, strides 1 and 2, and inputs that are channel ranges of bigger tensors. Outputs
// are NaN-poisoned first, so an element never written fails.
// Thresholds: relative L2 error <= 1e-5 and max error <= 1e-4 of the largest |expected|. float32
// sums of up to a few thousand products stay near 1e-6; a wrong index or a missed tap gives
// errors of order 1.
#include "revnet/kernels/conv2d.hpp"
#include "reference/reference.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include <limits>

using namespace revnet;
using kernels::Conv2d;
using kernels::Conv2dShape;
using kernels::Variant;

namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

struct Case {
    Shape input;
    uint32_t k, kernel, stride, pad;
    uint32_t extraChannels = 0;  // input and output are views of tensors with this many more channels
};

void checkClose(const char* what, std::span<const float> actual, const ref::Values& expected) {
    const ref::Error e = ref::compare(actual, expected);
    INFO(what << ": relative L2 " << e.relativeL2 << ", relative max " << e.relativeMax << " at " << e.worst);
    CHECK(e.finite);
    CHECK(e.relativeL2 <= 1e-5);
    CHECK(e.relativeMax <= 1e-4);
}

// The view's elements of a dense tensor with `extra` leading channels, as a dense vector.
std::vector<float> gather(const std::vector<float>& all, const Shape& view, uint32_t extra) {
    std::vector<float> out;
    const std::size_t plane = std::size_t(view.h) * view.w;
    for (uint32_t n = 0; n < view.n; ++n)
        for (uint32_t c = 0; c < view.c; ++c) {
            const auto from = all.begin() + ((std::size_t(n) * (view.c + extra) + c + extra) * plane);
            out.insert(out.end(), from, from + plane);
        }
    return out;
}

// `device`: what the convolution may assume of the engine's device (less than it offers, to test
// the kernels other devices get).
void runCase(const Case& c, Variant variant, const DeviceInfo& device = test::engine().info()) {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    const Conv2dShape shape{c.input, c.k, c.kernel, c.kernel, c.stride, c.pad};
    const Conv2d conv(device, shape, variant);
    const Shape in = c.input, out = shape.output();
    INFO("input " << toString(in) << " k " << c.k << " kernel " << c.kernel << " stride " << c.stride << " pad "
                  << c.pad << " extra " << c.extraChannels << (variant == Variant::Cpu ? " cpu" : " gpu"));
    const Shape inAll{in.n, in.c + c.extraChannels, in.h, in.w}, outAll{out.n, out.c + c.extraChannels, out.h, out.w};

    const auto x = test::randomValues(inAll.elements(), random), dy = test::randomValues(outAll.elements(), random);
    const auto w = test::randomValues(shape.weight().elements(), random);
    Tensor tx = e.tensor(inAll, Category::Other, "x"), ty = e.tensor(outAll, Category::Other, "y");
    Tensor tdy = e.tensor(outAll, Category::Other, "dy"), tdx = e.tensor(inAll, Category::Other, "dx");
    Tensor tw = e.tensor(shape.weight(), Category::Other, "w"), tdw = e.tensor(shape.weight(), Category::Other, "dw");
    Tensor work = e.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "workspace");
    const auto before = test::randomValues(in.elements(), random);
    Tensor tacc = e.tensor(in, Category::Other, "accumulated dx");
    e.upload(tacc, before);
    e.upload(tx, x);
    e.upload(tdy, dy);
    e.upload(tw, w);
    e.upload(ty, std::vector<float>(outAll.elements(), kPoison));
    e.upload(tdx, std::vector<float>(inAll.elements(), kPoison));
    e.upload(tdw, std::vector<float>(shape.weight().elements(), kPoison));

    const auto xView = tx.view().channels(c.extraChannels, in.c), dyView = tdy.view().channels(c.extraChannels, out.c);
    Recorder recorder(e.device());
    conv.forward({e.pipelines(), recorder}, xView, tw, ty.view().channels(c.extraChannels, out.c), work);
    conv.gradInput({e.pipelines(), recorder}, dyView, tw, tdx.view().channels(c.extraChannels, in.c), work);
    conv.gradWeight({e.pipelines(), recorder}, xView, dyView, tdw, work);
    conv.gradInput({e.pipelines(), recorder}, dyView, tw, tacc, work, true);
    recorder.run();

    const ref::ConvGeometry g{in, c.k, c.kernel, c.kernel, c.stride, c.pad};
    const auto xd = ref::widen(gather(x, in, c.extraChannels)), dyd = ref::widen(gather(dy, out, c.extraChannels));
    checkClose("forward", gather(e.download(ty), out, c.extraChannels), ref::convForward(g, xd, ref::widen(w)));
    checkClose("grad input", gather(e.download(tdx), in, c.extraChannels), ref::convGradInput(g, dyd, ref::widen(w)));
    checkClose("grad weight", e.download(tdw), ref::convGradWeight(g, xd, dyd));
    auto accumulated = ref::convGradInput(g, dyd, ref::widen(w));
    for (std::size_t i = 0; i < accumulated.size(); ++i) accumulated[i] += before[i];
    checkClose("grad input, accumulated", e.download(tacc), accumulated);
}

const std::vector<Case> kCases = {
    {{1, 1, 1, 1}, 1, 3, 1, 1},     {{3, 3, 7, 7}, 5, 3, 1, 1},      {{1, 5, 9, 9}, 17, 3, 2, 1},
    {{3, 17, 9, 9}, 5, 1, 1, 0},    {{3, 5, 9, 9}, 3, 1, 2, 0},      {{1, 3, 28, 28}, 5, 3, 1, 1},
    {{3, 5, 32, 32}, 3, 3, 2, 1},   {{1, 17, 7, 7}, 17, 3, 1, 1, 3}, {{3, 1, 28, 28}, 1, 3, 1, 1},
    {{1, 3, 7, 9}, 5, 3, 2, 1, 2},  {{1, 5, 1, 1}, 3, 3, 2, 1},      {{1, 8, 32, 32}, 16, 3, 1, 1},
    {{3, 3, 9, 9}, 5, 5, 1, 2},     {{1, 2, 9, 7}, 3, 5, 2, 1},  // other kernel sizes take the same path
    {{2, 70, 6, 6}, 66, 3, 1, 1},  // more channels than a GPU-variant block (64) either way
    // 1x1 with rows of whole vec4s, channels past a whole block of the weight gradient's input channels.
    {{2, 13, 8, 12}, 11, 1, 1, 0, 1}, {{1, 9, 4, 4}, 20, 1, 1, 0},
    // 1x1 expansions whose weight gradients sum two steps of columns an iteration (rows of 4 and 6).
    {{2, 5, 3, 16}, 11, 1, 1, 0}, {{1, 3, 5, 24}, 7, 1, 1, 0, 2},
    // Weight gradients whose lanes share dy across a subgroup (input channels a multiple of the
    // subgroup size, rows of whole vec4s): a k tile past the last output channel, a strided one, one
    // workgroup with lanes past the last input channel (68 = 64 + 4).
    {{2, 32, 8, 12}, 21, 3, 1, 1}, {{3, 16, 12, 16}, 10, 3, 2, 1}, {{1, 68, 4, 4}, 5, 3, 1, 1},
    // 1x1 weight gradients with too few input channels for a subgroup of blocks of 8 (4 a lane at
    // subgroups of 8 and 16): a k tile of 32 past the last output channel.
    {{2, 32, 4, 8}, 37, 1, 1, 0}, {{1, 64, 4, 4}, 40, 1, 1, 0},
    // A strided weight gradient whose x rows load as vec4s with edge columns on both sides (5 taps,
    // stride 2, padding 2).
    {{1, 4, 16, 16}, 3, 5, 2, 2},
};

// The three passes of `conv` on constant data, profiled: each kernel's timing and credited
// multiply-adds (empty where the device has no timestamps).
std::vector<KernelTiming> profiledPasses(const Conv2d& conv) {
    Engine& e = test::engine();
    const Conv2dShape& shape = conv.shape();
    Tensor x = e.tensor(shape.input, Category::Other, "x"), y = e.tensor(shape.output(), Category::Other, "y");
    Tensor w = e.tensor(shape.weight(), Category::Other, "w"), dw = e.tensor(shape.weight(), Category::Other, "dw");
    Tensor dx = e.tensor(shape.input, Category::Other, "dx");
    Tensor work = e.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "workspace");
    for (const Tensor* t : {&x, &y, &w}) e.upload(*t, std::vector<float>(t->shape().elements(), 0.5f));
    Recorder recorder(e.device(), RecorderOptions{true});
    conv.forward({e.pipelines(), recorder}, x, w, y, work);
    conv.gradInput({e.pipelines(), recorder}, y, w, dx, work);
    conv.gradWeight({e.pipelines(), recorder}, x, y, dw, work);
    recorder.run();
    return recorder.timingsAvailable() ? recorder.timings() : std::vector<KernelTiming>{};
}

}  // namespace

TEST_CASE("conv2d matches the double-precision reference (CPU variant)", "[conv2d]") {
    for (const auto& c : kCases) runCase(c, Variant::Cpu);
}

// Devices without subgroup shuffles get the kernels that load every value in every lane: the
// cases whose paths differ (tiles past the last, strides, 1x1, channel ranges, weight gradients
// that would share dy), as the whole sweep takes minutes.
TEST_CASE("conv2d matches the double-precision reference (CPU variant, no subgroup shuffles)", "[conv2d]") {
    DeviceInfo device = test::engine().info();
    device.subgroupOperations &= ~VkSubgroupFeatureFlags{VK_SUBGROUP_FEATURE_SHUFFLE_BIT};
    for (std::size_t i : {1, 2, 3, 7, 15, 17, 18, 19}) runCase(kCases.at(i), Variant::Cpu, device);
}

// Which kernels a CPU device gets: the twins that share loads across a subgroup where it shuffles
// with 8 or more lanes (lavapipe), the plain ones with 4 (SwiftShader), where they measured slower.
TEST_CASE("CPU-variant convolutions share loads only across subgroups of 8 or more lanes", "[conv2d]") {
    Engine& e = test::engine();
    constexpr VkSubgroupFeatureFlags shuffles = VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT;
    if ((e.info().subgroupOperations & shuffles) != shuffles || e.info().subgroupSize < 8 || !e.info().timestamps) {
        WARN("the device has no shuffles across 8 or more lanes, or no timestamps: nothing to tell apart");
        return;
    }
    const Conv2dShape shape{{2, 16, 8, 8}, 16, 3, 3, 1, 1};
    auto dispatched = [&](const DeviceInfo& device) {
        std::set<std::string> names;
        for (const auto& t : profiledPasses(Conv2d(device, shape, Variant::Cpu)))
            if (t.name.starts_with("conv2d_") && t.name != "conv2d_pack_weights") names.insert(t.name);
        return names;
    };
    CHECK(dispatched(e.info()) ==
          std::set<std::string>{"conv2d_forward_subgroup", "conv2d_grad_input_subgroup", "conv2d_grad_weight_subgroup"});
    DeviceInfo four = e.info();
    four.subgroupSize = 4;
    CHECK(dispatched(four) == std::set<std::string>{"conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight"});
    test::countValidation(e);
}

TEST_CASE("conv2d matches the double-precision reference (GPU variant)", "[conv2d]") {
    for (const auto& c : kCases) runCase(c, Variant::Gpu);
}

TEST_CASE("conv2d reference gradients agree with finite differences", "[conv2d][reference]") {
    auto random = test::freshRandom();
    for (uint32_t stride : {1u, 2u}) {
        const ref::ConvGeometry g{{2, 3, 5, 6}, 4, 3, 3, stride, 1};
        const auto x = ref::widen(test::randomValues(g.input.elements(), random));
        const auto w = ref::widen(test::randomValues(std::size_t(4) * 3 * 9, random));
        const auto dy = ref::widen(test::randomValues(g.output().elements(), random));
        // loss = <dy, conv(x, w)>: its gradients are exactly what grad input / grad weight compute.
        const auto dx = ref::convGradInput(g, dy, w), dw = ref::convGradWeight(g, x, dy);
        for (std::size_t i : {std::size_t{0}, std::size_t{17}, x.size() - 1})
            CHECK(ref::centralDifference([&](const ref::Values& v) { return ref::dot(dy, ref::convForward(g, v, w)); }, x, i) ==
                  Approx(dx[i]).epsilon(1e-6).margin(1e-9));
        for (std::size_t i : {std::size_t{0}, std::size_t{40}, w.size() - 1})
            CHECK(ref::centralDifference([&](const ref::Values& v) { return ref::dot(dy, ref::convForward(g, x, v)); }, w, i) ==
                  Approx(dw[i]).epsilon(1e-6).margin(1e-9));
    }
}

TEST_CASE("a profiled convolution credits each pass with its multiply-adds", "[conv2d]") {
    // The profile's GFLOP/s divide these by the measured time: each pass of a layer must add up
    // to 2 x N x K x OH x OW x C x R x S, the input gradient's parity classes and all.
    Engine& e = test::engine();
    for (const auto& shape : {kernels::Conv2dShape{{3, 5, 9, 7}, 6, 3, 3, 2, 1}, kernels::Conv2dShape{{2, 4, 8, 8}, 3, 1, 1, 1, 0}}) {
        INFO(toString(shape.input) << " stride " << shape.stride);
        const auto timings = profiledPasses(kernels::Conv2d(e.info(), shape));
        if (timings.empty()) continue;
        std::map<std::string, double> credited;
        for (const auto& t : timings) {  // a *_storage or *_subgroup twin or the GPU variant's gemm counts as its pass
            std::string name = t.name.substr(0, t.name.find("_s"));
            if (name.starts_with("conv2d_gemm_")) name = "conv2d_" + name.substr(12);
            credited[name] += t.flops;
        }
        for (const char* pass : {"conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight"}) {
            INFO(pass);
            CHECK(credited[pass] == Approx(shape.flops()).epsilon(1e-12));
        }
        CHECK(credited["conv2d_pack_weights"] == 0);
        test::countValidation(e);
    }
    Recorder empty(e.device());
    CHECK_THROWS_WITH(empty.countFlops(1), Catch::Contains("before any dispatch"));
}

TEST_CASE("a forward convolution adds its result to the output, or subtracts it, exactly as written", "[conv2d]") {
    // The reversible coupling y1 = x1 + F(x2) and its inverse have the last convolution of F add
    // into (or subtract from) the half tensor: the same float as writing the result and adding it.
    auto random = test::freshRandom();
    Engine& e = test::engine();
    // Rows of whole vec4s (the last two) read what the output held as texels (BEFORE_TEXELS).
    for (const auto& shape : {kernels::Conv2dShape{{3, 5, 9, 7}, 6, 3, 3, 1, 1}, kernels::Conv2dShape{{2, 8, 8, 8}, 4, 3, 3, 2, 1},
                              kernels::Conv2dShape{{2, 6, 8, 12}, 5, 3, 3, 1, 1}}) {
        INFO(toString(shape.input) << " stride " << shape.stride);
        const kernels::Conv2d conv(e.info(), shape);
        Tensor x = e.tensor(shape.input, Category::Other, "x"), w = e.tensor(shape.weight(), Category::Other, "w");
        Tensor y = e.tensor(shape.output(), Category::Other, "y");
        Tensor work = e.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "workspace");
        e.upload(x, test::randomValues(x.shape().elements(), random));
        e.upload(w, test::randomValues(w.shape().elements(), random));
        const auto before = test::randomValues(y.shape().elements(), random);
        auto run = [&](kernels::ConvOutput output) {
            e.upload(y, before);
            Recorder recorder(e.device());
            conv.forward({e.pipelines(), recorder}, x, w, y, work, output);
            recorder.run();
            return e.download(y);
        };
        const auto written = run(kernels::ConvOutput::Write), added = run(kernels::ConvOutput::Add),
                   subtracted = run(kernels::ConvOutput::Subtract);
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < written.size(); ++i)
            mismatches += added[i] != before[i] + written[i] || subtracted[i] != before[i] - written[i];
        CHECK(mismatches == 0);

        // A fixed-point coupling: the result rounded to the grid (ties to even) before it is
        // written, added or subtracted; the flag set only where a value reaches the exact bound.
        for (const uint32_t bits : {12u, 23u}) {  // bound 4096: inside; bound 2: these values pass it
            INFO(bits << " fraction bits");
            Tensor flag = e.tensor({1, 1, 1, 1}, Category::Other, "overflow");
            const kernels::FixedPoint fixed{bits, flag.view()};
            auto runFixed = [&](kernels::ConvOutput output) {
                e.upload(y, before);
                e.upload(flag, std::vector<float>{0.0f});
                Recorder recorder(e.device());
                conv.forward({e.pipelines(), recorder}, x, w, y, work, output, &fixed);
                recorder.run();
                return e.download(y);
            };
            auto q = [&](float v) { return float(std::ldexp(std::nearbyint(std::ldexp(double(v), int(bits))), -int(bits))); };
            const auto qWritten = runFixed(kernels::ConvOutput::Write);
            const bool past = e.download(flag)[0] != 0.0f;
            const auto qAdded = runFixed(kernels::ConvOutput::Add), qSubtracted = runFixed(kernels::ConvOutput::Subtract);
            std::size_t wrong = 0;
            double largest = 0;
            for (std::size_t i = 0; i < written.size(); ++i) {
                const float term = q(written[i]);
                wrong += qWritten[i] != term || qAdded[i] != before[i] + term || qSubtracted[i] != before[i] - term;
                largest = std::max(largest, double(std::fabs(term)));
            }
            CHECK(wrong == 0);
            CHECK(past == (largest >= kernels::exactBound(bits)));
            if (bits == 23) CHECK(past);  // the test's values reach 2
        }
        test::countValidation(e);
    }
}

TEST_CASE("a forward convolution and a weight gradient apply their input's batch norm and ReLU as they load it", "[conv2d]") {
    // InputNorm against the double-precision convolution and weight gradient of
    // relu(gamma * (x - mean) / sqrt(var + eps) + beta), the padding zero: shifts and gammas of both signs make the ReLU cut about half the
    // values, and a padding that went through the norm (relu(beta - gamma * mean / sd)) is far
    // from zero. 3x3 and 1x1, strides 1 and 2, rows of whole vec4s and not, channel ranges, the
    // statistics at offsets into bigger tensors, with and without subgroup shuffles.
    auto random = test::freshRandom();
    Engine& e = test::engine();
    DeviceInfo plain = e.info();
    plain.subgroupOperations &= ~VkSubgroupFeatureFlags{VK_SUBGROUP_FEATURE_SHUFFLE_BIT};
    const std::vector<Case> cases = {{{3, 3, 7, 7}, 5, 3, 1, 1},     {{1, 5, 9, 9}, 17, 3, 2, 1},   {{3, 17, 9, 9}, 5, 1, 1, 0},
                                     {{1, 8, 32, 32}, 16, 3, 1, 1},  {{1, 3, 7, 9}, 5, 3, 2, 1, 2}, {{2, 13, 8, 12}, 11, 1, 1, 0, 1},
                                     {{3, 16, 12, 16}, 10, 3, 2, 1}, {{1, 5, 1, 1}, 3, 3, 2, 1},
                                     // the weight gradient's step pairs and dy shared across a subgroup
                                     {{2, 5, 3, 16}, 11, 1, 1, 0},   {{2, 32, 8, 12}, 21, 3, 1, 1}};
    std::size_t cut = 0, values = 0;  // over all cases: a 1x1 input has too few values to count on
    for (const DeviceInfo& device : {e.info(), plain})
        for (const auto& c : cases) {
            const Conv2dShape shape{c.input, c.k, c.kernel, c.kernel, c.stride, c.pad};
            const Conv2d conv(device, shape, Variant::Cpu);
            REQUIRE(conv.normalizesInput());
            const Shape in = c.input, out = shape.output(), inAll{in.n, in.c + c.extraChannels, in.h, in.w};
            INFO("input " << toString(in) << " k " << c.k << " kernel " << c.kernel << " stride " << c.stride << " extra "
                          << c.extraChannels << (device.subgroupOperations == e.info().subgroupOperations ? "" : " no shuffles"));
            const auto x = test::randomValues(inAll.elements(), random), w = test::randomValues(shape.weight().elements(), random);
            const auto dy = test::randomValues(out.elements(), random);
            // [unused, mean[C], var[C], gamma[C], beta[C]]: each at an offset.
            const uint32_t C = in.c, lead = 3;
            std::vector<float> params = test::randomValues(lead + 4 * C, random);
            for (uint32_t i = 0; i < C; ++i) params[lead + C + i] = 0.1f + std::fabs(params[lead + C + i]);
            const float eps = 1e-3f;
            Tensor tx = e.tensor(inAll, Category::Other, "x"), tw = e.tensor(shape.weight(), Category::Other, "w");
            Tensor ty = e.tensor(out, Category::Other, "y"), tp = e.tensor({1, 1, 1, lead + 4 * C}, Category::Other, "norm");
            Tensor tdy = e.tensor(out, Category::Other, "dy"), tdw = e.tensor(shape.weight(), Category::Other, "dw");
            Tensor work = e.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "workspace");
            e.upload(tx, x);
            e.upload(tw, w);
            e.upload(tp, params);
            e.upload(ty, std::vector<float>(out.elements(), kPoison));
            e.upload(tdy, dy);
            e.upload(tdw, std::vector<float>(shape.weight().elements(), kPoison));
            const kernels::InputNorm norm{tp.view().range(lead, 2 * C), tp.view().range(lead + 2 * C, C),
                                          tp.view().range(lead + 3 * C, C), eps};
            Recorder recorder(e.device());
            conv.forward({e.pipelines(), recorder}, tx.view().channels(c.extraChannels, in.c), tw, ty, work,
                         kernels::ConvOutput::Write, nullptr, &norm);
            conv.gradWeight({e.pipelines(), recorder}, tx.view().channels(c.extraChannels, in.c), tdy, tdw, work, &norm);
            recorder.run();

            auto xd = ref::widen(gather(x, in, c.extraChannels));
            const std::size_t plane = std::size_t(in.h) * in.w;
            values += xd.size();
            for (std::size_t i = 0; i < xd.size(); ++i) {
                const std::size_t ch = i / plane % C;
                const double v = double(params[lead + 2 * C + ch]) * (xd[i] - params[lead + ch]) /
                                     std::sqrt(double(params[lead + C + ch]) + eps) + params[lead + 3 * C + ch];
                xd[i] = std::max(v, 0.0);
                cut += v < 0;
            }
            const ref::ConvGeometry g{in, c.k, c.kernel, c.kernel, c.stride, c.pad};
            checkClose("forward of the normalized input", e.download(ty), ref::convForward(g, xd, ref::widen(w)));
            checkClose("weight gradient of the normalized input", e.download(tdw), ref::convGradWeight(g, xd, ref::widen(dy)));
        }
    CHECK(cut > values / 4);
    test::countValidation(e);
}

// The shapes the epilogues that reduce over a workgroup (an input gradient's batch-norm sums, a
// forward pass's output statistics) are tested on: several workgroups and one with idle lanes,
// channels short of a whole tile, 1x1, strided (an input gradient's parity classes in one
// dispatch), channel ranges; and where they cannot apply (rows not whole vec4s, the GPU variant).
const std::vector<std::pair<Case, Variant>> kEpilogueCases = {
    {{{3, 8, 8, 12}, 5, 3, 1, 1}, Variant::Cpu},    {{{9, 5, 16, 16}, 3, 3, 1, 1}, Variant::Cpu},
    {{{5, 6, 4, 4}, 7, 3, 1, 1}, Variant::Cpu},     {{{2, 13, 8, 12}, 11, 1, 1, 0, 1}, Variant::Cpu},
    {{{3, 16, 12, 16}, 10, 3, 2, 1}, Variant::Cpu}, {{{1, 8, 32, 32}, 16, 3, 1, 1, 3}, Variant::Cpu},
    {{{3, 6, 7, 7}, 5, 3, 1, 1}, Variant::Cpu},     {{{2, 8, 8, 8}, 5, 3, 1, 1}, Variant::Gpu}};

Tensor uploaded(Engine& e, const Shape& shape, const std::vector<float>& values, const char* name) {
    Tensor t = e.tensor(shape, Category::Other, name);
    e.upload(t, values);
    return t;
}

// The engine's device, and the same without subgroup shuffles (the tile shaders' plain twins).
std::array<DeviceInfo, 2> withAndWithoutShuffles() {
    DeviceInfo plain = test::engine().info();
    plain.subgroupOperations &= ~VkSubgroupFeatureFlags{VK_SUBGROUP_FEATURE_SHUFFLE_BIT};
    return {test::engine().info(), plain};
}

std::string describe(const Case& c, Variant variant, const DeviceInfo& device) {
    const bool shuffles = device.subgroupOperations == test::engine().info().subgroupOperations;
    return "input " + toString(c.input) + " k " + std::to_string(c.k) + " kernel " + std::to_string(c.kernel) + " stride " +
           std::to_string(c.stride) + " extra " + std::to_string(c.extraChannels) +
           (variant == Variant::Cpu ? " cpu" : " gpu") + (shuffles ? "" : " no shuffles");
}

TEST_CASE("an input gradient sums its batch norm's parameter gradients as it writes them", "[conv2d]") {
    // NormSums: dx must be what it is without them, and dbeta = sum dz', dgamma = sum dz' * xhat
    // (dz' = dz where relu(bn(x)) passed) must be the double-precision sums of the dx the pass wrote,
    // within the rounding of a float32 sum. Where the pass cannot sum (rows not whole vec4s, the GPU
    // variant) it says so and leaves dgamma and dbeta alone. kEpilogueCases, x a channel range,
    // figures and partials at offsets, with and without subgroup shuffles.
    auto random = test::freshRandom();
    Engine& e = test::engine();
    std::size_t cut = 0, values = 0;
    for (const DeviceInfo& device : withAndWithoutShuffles())
        for (const auto& [c, variant] : kEpilogueCases) {
            const Conv2dShape shape{c.input, c.k, c.kernel, c.kernel, c.stride, c.pad};
            const Conv2d conv(device, shape, variant);
            const Shape in = c.input, out = shape.output(), inAll{in.n, in.c + c.extraChannels, in.h, in.w};
            const bool sums = variant == Variant::Cpu && in.w % 4 == 0;
            INFO(describe(c, variant, device));
            REQUIRE((conv.normSumsPartials() > 0) == (variant == Variant::Cpu));
            const auto x = test::randomValues(inAll.elements(), random), w = test::randomValues(shape.weight().elements(), random);
            const auto dy = test::randomValues(out.elements(), random);
            // [unused, mean[C], var[C], gamma[C], beta[C], dgamma[C], dbeta[C]]
            const uint32_t C = in.c, lead = 3;
            std::vector<float> params = test::randomValues(lead + 6 * C, random);
            for (uint32_t i = 0; i < C; ++i) params[lead + C + i] = 0.1f + std::fabs(params[lead + C + i]);
            std::fill(params.begin() + lead + 4 * C, params.end(), kPoison);
            const float eps = 1e-3f;
            Tensor tx = uploaded(e, inAll, x, "x"), tw = uploaded(e, shape.weight(), w, "w"), tdy = uploaded(e, out, dy, "dy");
            Tensor tp = uploaded(e, {1, 1, 1, lead + 6 * C}, params, "norm");
            Tensor tdx = uploaded(e, in, std::vector<float>(in.elements(), kPoison), "dx");
            Tensor work = e.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "workspace");
            Tensor partials = e.tensor({1, 1, 1, uint32_t(conv.normSumsPartials() + 8)}, Category::Workspace, "partials");
            const kernels::NormSums norm{{tp.view().range(lead, 2 * C), tp.view().range(lead + 2 * C, C), tp.view().range(lead + 3 * C, C), eps},
                                         tx.view().channels(c.extraChannels, in.c), tp.view().range(lead + 4 * C, C),
                                         tp.view().range(lead + 5 * C, C), partials.view().range(8, conv.normSumsPartials())};
            Recorder recorder(e.device());
            CHECK(conv.gradInput({e.pipelines(), recorder}, tdy, tw, tdx, work, false, &norm) == sums);
            recorder.run();

            const ref::ConvGeometry g{in, c.k, c.kernel, c.kernel, c.stride, c.pad};
            const auto dx = e.download(tdx);
            checkClose("grad input", dx, ref::convGradInput(g, ref::widen(dy), ref::widen(w)));
            const auto figures = e.download(tp);
            if (!sums) {
                for (uint32_t i = lead + 4 * C; i < lead + 6 * C; ++i) CHECK(std::isnan(figures[i]));
                continue;
            }
            // The sums in double, their magnitudes, and terms whose mask float32 may decide otherwise.
            const auto xd = ref::widen(gather(x, in, c.extraChannels));
            const std::size_t plane = std::size_t(in.h) * in.w;
            std::vector<double> dbeta(C), dgamma(C), dbetaBound(C), dgammaBound(C);
            values += xd.size();
            for (std::size_t i = 0; i < xd.size(); ++i) {
                const std::size_t ch = i / plane % C;
                const double xhat = (xd[i] - params[lead + ch]) / std::sqrt(double(params[lead + C + ch]) + eps);
                const double normalized = params[lead + 2 * C + ch] * xhat + params[lead + 3 * C + ch];
                const double d = normalized > 0 ? dx[i] : 0.0;
                cut += normalized <= 0;
                dbeta[ch] += d, dgamma[ch] += d * xhat;
                const double slack = std::fabs(normalized) < 1e-4 ? 1e4 : 1.0;  // a mask near its edge counts in full
                dbetaBound[ch] += std::fabs(dx[i]) * slack, dgammaBound[ch] += std::fabs(dx[i] * xhat) * slack;
            }
            const double terms = double(in.n) * plane + 8;
            std::size_t outside = 0;
            for (uint32_t ch = 0; ch < C; ++ch) {
                outside += !(std::fabs(figures[lead + 5 * C + ch] - dbeta[ch]) <= terms * 0x1p-24 * dbetaBound[ch]);
                outside += !(std::fabs(figures[lead + 4 * C + ch] - dgamma[ch]) <= terms * 0x1p-24 * dgammaBound[ch]);
            }
            INFO(outside << " of " << 2 * C << " sums outside the rounding bound");
            CHECK(outside == 0);
        }
    CHECK(cut > values / 4);
    test::countValidation(e);
}

TEST_CASE("a forward convolution takes the batch statistics of what it stores", "[conv2d]") {
    // OutputStats: y must be what it is without them, and the statistics the double-precision mean
    // and biased variance of each channel of the y the pass stored (written, or added to or
    // subtracted from what y held), the running statistics moved toward them (the variance
    // unbiased). A missing or doubled value moves a channel's variance by about 1/M of itself
    // (M <= 2304 here), past the checks' 1e-4. Where the pass cannot take them (rows not whole
    // vec4s, the GPU variant) it says so and leaves the statistics alone. kEpilogueCases, y a
    // channel range, figures and partials at offsets, with and without subgroup shuffles; the
    // cases take turns to write, add and subtract.
    auto random = test::freshRandom();
    Engine& e = test::engine();
    using kernels::ConvOutput;
    for (const DeviceInfo& device : withAndWithoutShuffles())
        for (std::size_t i = 0; i < kEpilogueCases.size(); ++i) {
            const auto& [c, variant] = kEpilogueCases[i];
            const ConvOutput output = std::array{ConvOutput::Write, ConvOutput::Add, ConvOutput::Subtract}[i % 3];
            const Conv2dShape shape{c.input, c.k, c.kernel, c.kernel, c.stride, c.pad};
            const Conv2d conv(device, shape, variant);
            const Shape in = c.input, out = shape.output(), outAll{out.n, out.c + c.extraChannels, out.h, out.w};
            const bool takes = variant == Variant::Cpu && out.w % 4 == 0;
            INFO(describe(c, variant, device) << " output " << int(output));
            REQUIRE((conv.outputStatsPartials() > 0) == (variant == Variant::Cpu));
            const auto x = test::randomValues(in.elements(), random), w = test::randomValues(shape.weight().elements(), random);
            const auto before = test::randomValues(outAll.elements(), random);
            // [unused, stats[2K], running[2K]]
            const uint32_t K = out.c, lead = 3;
            std::vector<float> figures = test::randomValues(lead + 4 * K, random);
            for (uint32_t i = 0; i < K; ++i) figures[lead + 3 * K + i] = 0.5f + std::fabs(figures[lead + 3 * K + i]);
            std::fill(figures.begin() + lead, figures.begin() + lead + 2 * K, kPoison);
            Tensor tx = uploaded(e, in, x, "x"), tw = uploaded(e, shape.weight(), w, "w"), ty = uploaded(e, outAll, before, "y");
            Tensor tf = uploaded(e, {1, 1, 1, lead + 4 * K}, figures, "figures");
            Tensor work = e.tensor({1, 1, 1, uint32_t(conv.workspaceElements())}, Category::Workspace, "workspace");
            Tensor partials = e.tensor({1, 1, 1, uint32_t(conv.outputStatsPartials() + 8)}, Category::Workspace, "partials");
            const kernels::OutputStats stats{tf.view().range(lead, 2 * K), tf.view().range(lead + 2 * K, 2 * K), true, 0.25f,
                                             partials.view().range(8, conv.outputStatsPartials())};
            const TensorView yView = ty.view().channels(c.extraChannels, out.c);
            Recorder recorder(e.device());
            CHECK(conv.forward({e.pipelines(), recorder}, tx, tw, yView, work, output, nullptr, nullptr, &stats) == takes);
            recorder.run();

            const ref::ConvGeometry g{in, c.k, c.kernel, c.kernel, c.stride, c.pad};
            const auto y = gather(e.download(ty), out, c.extraChannels);
            auto expectedY = ref::convForward(g, ref::widen(x), ref::widen(w));
            const auto held = gather(before, out, c.extraChannels);
            for (std::size_t i = 0; i < expectedY.size(); ++i)
                expectedY[i] = output == ConvOutput::Write ? expectedY[i]
                               : output == ConvOutput::Add ? held[i] + expectedY[i] : held[i] - expectedY[i];
            checkClose("output", y, expectedY);
            const auto got = e.download(tf);
            if (!takes) {
                for (uint32_t i = lead; i < lead + 2 * K; ++i) CHECK(std::isnan(got[i]));
                continue;
            }
            const std::size_t plane = std::size_t(out.h) * out.w;
            const double m = double(out.n) * plane;
            ref::Values mean(K), variance(K), running(2 * K);
            for (std::size_t i = 0; i < y.size(); ++i) mean[i / plane % K] += y[i] / m;
            for (std::size_t i = 0; i < y.size(); ++i) variance[i / plane % K] += (y[i] - mean[i / plane % K]) * (y[i] - mean[i / plane % K]) / m;
            for (uint32_t k = 0; k < K; ++k) {
                running[k] = figures[lead + 2 * K + k] + 0.25 * (mean[k] - figures[lead + 2 * K + k]);
                const double unbiased = m > 1 ? variance[k] * m / (m - 1) : variance[k];
                running[K + k] = figures[lead + 3 * K + k] + 0.25 * (unbiased - figures[lead + 3 * K + k]);
            }
            // The means against the deviations' scale: they cancel toward zero.
            for (uint32_t k = 0; k < K; ++k) {
                const double sd = std::sqrt(variance[k]);
                INFO("channel " << k << " mean " << got[lead + k] << " against " << mean[k] << ", deviation " << sd);
                CHECK(std::fabs(got[lead + k] - mean[k]) <= 1e-5 * sd);
            }
            checkClose("variance", std::span(got).subspan(lead + K, K), variance);
            checkClose("running statistics", std::span(got).subspan(lead + 2 * K, 2 * K), running);
        }
    test::countValidation(e);
}
