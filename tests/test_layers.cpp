// The head and the rest of a training step against double-precision references: 2x2 average
// pooling with channel padding, the ImageNet stem's 3x3 max pooling, global average pooling, the fully connected layer, softmax
// cross-entropy, SGD (learning rate changed between replays of one recording), and the input
// pipeline (Philox draws, crop, flip, normalization). Outputs are NaN-poisoned first.
#include "revnet/kernels/augment.hpp"
#include "revnet/kernels/linear.hpp"
#include "revnet/kernels/loss.hpp"
#include "revnet/kernels/philox.hpp"
#include "revnet/kernels/pooling.hpp"
#include "revnet/kernels/sgd.hpp"
#include "reference/reference.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace revnet;

namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

// Sums of a few products in float32 stay within 1e-6 relative; a wrong index gives O(1).
void checkClose(const char* what, std::span<const float> actual, const ref::Values& expected, double l2 = 1e-6) {
    const ref::Error e = ref::compare(actual, expected);
    INFO(what << ": relative L2 " << e.relativeL2 << ", relative max " << e.relativeMax << " at " << e.worst);
    CHECK(e.finite);
    CHECK(e.relativeL2 <= l2);
    CHECK(e.relativeMax <= 10 * l2);
}

ref::Values absolute(ref::Values v) {
    for (double& x : v) x = std::fabs(x);
    return v;
}

// Each output within the rounding bound of a float32 sum of `terms` terms in any order,
// (terms + 1) 2^-24 sum |terms| (`magnitude`): a relative error fails where a few random terms
// cancel, as a 2x2 window's four do in some draws.
void checkWithinRounding(const char* what, std::span<const float> actual, const ref::Values& expected,
                         const ref::Values& magnitude, uint32_t terms) {
    REQUIRE(actual.size() == expected.size());
    std::size_t outside = 0, first = actual.size();
    for (std::size_t i = 0; i < actual.size(); ++i)
        if (!(std::fabs(actual[i] - expected[i]) <= (terms + 1) * 0x1p-24 * magnitude[i])) {
            ++outside;
            first = std::min(first, i);
        }
    INFO(what << ": " << outside << " outputs outside the rounding bound, the first at " << first);
    CHECK(outside == 0);
}

Tensor poisoned(Engine& e, Shape s, const char* name) {
    Tensor t = e.tensor(s, Category::Other, name);
    e.upload(t, std::vector<float>(s.elements(), kPoison));
    return t;
}

Tensor filled(Engine& e, Shape s, const std::vector<float>& values, const char* name) {
    Tensor t = e.tensor(s, Category::Other, name);
    e.upload(t, values);
    return t;
}

Shape flat(std::size_t n) { return {1, 1, 1, uint32_t(n)}; }

}  // namespace

TEST_CASE("2x2 average pooling with channel padding matches the reference", "[pooling]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    struct Case {
        Shape in;
        uint32_t outChannels, padBefore;
    };
    for (const Case c : {Case{{3, 5, 8, 6}, 9, 2}, Case{{1, 1, 2, 2}, 1, 0}, Case{{2, 16, 32, 32}, 32, 8}, Case{{3, 3, 28, 28}, 3, 0}}) {
        INFO(toString(c.in) << " -> " << c.outChannels << " channels after " << c.padBefore);
        const Shape out{c.in.n, c.outChannels, c.in.h / 2, c.in.w / 2};
        const auto x = test::randomValues(c.in.elements(), random), dy = test::randomValues(out.elements(), random);
        const auto before = test::randomValues(c.in.elements(), random);
        Tensor tx = filled(e, c.in, x, "x"), tdy = filled(e, out, dy, "dy"), ty = poisoned(e, out, "y");
        Tensor tdx = poisoned(e, c.in, "dx"), tacc = filled(e, c.in, before, "accumulated dx");
        Recorder recorder(e.device());
        kernels::avgPool2x2Forward({e.pipelines(), recorder}, tx, ty, c.padBefore);
        kernels::avgPool2x2Backward({e.pipelines(), recorder}, tdy, tdx, c.padBefore, false);
        kernels::avgPool2x2Backward({e.pipelines(), recorder}, tdy, tacc, c.padBefore, true);
        recorder.run();
        const auto xd = ref::widen(x);
        checkWithinRounding("forward", e.download(ty), ref::avgPool2x2(c.in, xd, c.outChannels, c.padBefore),
                            ref::avgPool2x2(c.in, absolute(xd), c.outChannels, c.padBefore), 4);
        const auto dx = ref::avgPool2x2Backward(c.in, ref::widen(dy), c.outChannels, c.padBefore);
        checkClose("backward", e.download(tdx), dx);
        ref::Values sum = dx, magnitude = absolute(dx);
        for (std::size_t i = 0; i < sum.size(); ++i) {
            sum[i] += before[i];
            magnitude[i] += std::fabs(before[i]);
        }
        checkWithinRounding("backward, accumulated", e.download(tacc), sum, magnitude, 2);
    }
}

TEST_CASE("3x3 stride-2 max pooling matches the reference, ties and odd sizes included", "[pooling]") {
    // Half the inputs of the tied cases are exactly 0, as after a ReLU: forward and backward must
    // agree with the reference on which of equal values is the window's maximum (the first).
    auto random = test::freshRandom();
    Engine& e = test::engine();
    struct Case {
        Shape in;
        bool ties;
    };
    for (const Case c : {Case{{2, 3, 7, 5}, false}, Case{{3, 5, 8, 6}, true}, Case{{1, 1, 1, 1}, false},
                         Case{{2, 16, 30, 30}, true}, Case{{1, 2, 2, 9}, true}}) {
        INFO(toString(c.in) << (c.ties ? ", with ties" : ""));
        const Shape out = kernels::maxPool3x3Output(c.in);
        auto x = test::randomValues(c.in.elements(), random);
        if (c.ties)
            for (auto& v : x) v = std::max(v, 0.0f);
        const auto dy = test::randomValues(out.elements(), random), before = test::randomValues(c.in.elements(), random);
        Tensor tx = filled(e, c.in, x, "x"), tdy = filled(e, out, dy, "dy"), ty = poisoned(e, out, "y");
        Tensor tdx = poisoned(e, c.in, "dx"), tacc = filled(e, c.in, before, "accumulated dx");
        Recorder recorder(e.device());
        kernels::maxPool3x3Forward({e.pipelines(), recorder}, tx, ty);
        kernels::maxPool3x3Backward({e.pipelines(), recorder}, tx, tdy, tdx, false);
        kernels::maxPool3x3Backward({e.pipelines(), recorder}, tx, tdy, tacc, true);
        recorder.run();
        checkClose("forward", e.download(ty), ref::maxPool3x3(c.in, ref::widen(x)));
        const auto dx = ref::maxPool3x3Backward(c.in, ref::widen(x), ref::widen(dy));
        checkClose("backward", e.download(tdx), dx);
        ref::Values sum = dx;
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += before[i];
        checkClose("backward, accumulated", e.download(tacc), sum);
    }
    Tensor x = e.tensor({1, 2, 8, 8}, Category::Other, "x"), wrong = e.tensor({1, 2, 3, 3}, Category::Other, "y");
    Recorder recorder(e.device());
    CHECK_THROWS_WITH(kernels::maxPool3x3Forward({e.pipelines(), recorder}, x, wrong), Catch::Contains("into 1x2x4x4"));
}

TEST_CASE("pooling reference gradients agree with finite differences", "[pooling][reference]") {
    auto random = test::freshRandom();
    const Shape in{2, 3, 4, 6};
    const auto x = ref::widen(test::randomValues(in.elements(), random));
    const auto dy = ref::widen(test::randomValues(2 * 5 * 2 * 3, random));
    const auto dx = ref::avgPool2x2Backward(in, dy, 5, 1);
    for (std::size_t i = 0; i < x.size(); i += 7)
        CHECK(ref::centralDifference([&](const ref::Values& v) { return ref::dot(dy, ref::avgPool2x2(in, v, 5, 1)); }, x, i) ==
              Approx(dx[i]).epsilon(1e-6).margin(1e-9));
    // Max pooling: distinct values 0.01 apart, so no difference (a step of 1e-5) crosses a tie.
    const Shape odd{1, 2, 5, 7};
    ref::Values distinct(odd.elements());
    for (std::size_t i = 0; i < distinct.size(); ++i) distinct[i] = 0.01 * double(i);  // small: little rounding
    std::shuffle(distinct.begin(), distinct.end(), random);
    const auto dyMax = ref::widen(test::randomValues(2 * 3 * 4, random));
    const auto dxMax = ref::maxPool3x3Backward(odd, distinct, dyMax);
    for (std::size_t i = 0; i < distinct.size(); ++i)
        CHECK(ref::centralDifference([&](const ref::Values& v) { return ref::dot(dyMax, ref::maxPool3x3(odd, v)); }, distinct, i) ==
              Approx(dxMax[i]).epsilon(1e-6).margin(1e-9));
    const auto g = ref::widen(test::randomValues(6, random));
    for (std::size_t i = 0; i < x.size(); i += 5)  // global pooling's gradient is g / (H*W)
        CHECK(ref::centralDifference([&](const ref::Values& v) { return ref::dot(g, ref::globalAvgPool(in, v)); }, x, i) ==
              Approx(g[i / 24] / 24).epsilon(1e-6).margin(1e-9));
}

TEST_CASE("global average pooling matches the reference", "[pooling]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    for (const Shape s : {Shape{3, 5, 7, 9}, Shape{1, 17, 1, 1}, Shape{2, 64, 8, 8}}) {
        INFO(toString(s));
        const Shape pooled{s.n, s.c, 1, 1};
        const auto x = test::randomValues(s.elements(), random), dy = test::randomValues(pooled.elements(), random);
        Tensor tx = filled(e, s, x, "x"), ty = poisoned(e, pooled, "y"), tdy = filled(e, pooled, dy, "dy");
        Tensor tdx = poisoned(e, s, "dx");
        Recorder recorder(e.device());
        kernels::globalAvgPoolForward({e.pipelines(), recorder}, tx, ty);
        kernels::globalAvgPoolBackward({e.pipelines(), recorder}, tdy, tdx, false);
        recorder.run();
        checkClose("forward", e.download(ty), ref::globalAvgPool(s, ref::widen(x)));
        ref::Values dx(s.elements());
        for (std::size_t i = 0; i < dx.size(); ++i) dx[i] = dy[i / (s.h * s.w)] / (s.h * s.w);
        checkClose("backward", e.download(tdx), dx);
    }
}

TEST_CASE("fully connected layer matches the reference and finite differences", "[linear]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    for (const kernels::LinearShape s : {kernels::LinearShape{3, 17, 10}, kernels::LinearShape{1, 1, 1},
                                         kernels::LinearShape{128, 64, 100}}) {
        INFO(s.batch << " x " << s.in << " -> " << s.out);
        const auto x = test::randomValues(std::size_t(s.batch) * s.in, random);
        const auto w = test::randomValues(std::size_t(s.out) * s.in, random), b = test::randomValues(s.out, random);
        const auto dy = test::randomValues(std::size_t(s.batch) * s.out, random);
        Tensor tx = filled(e, {s.batch, s.in, 1, 1}, x, "x"), tw = filled(e, flat(w.size()), w, "w");
        Tensor tb = filled(e, flat(s.out), b, "b"), tdy = filled(e, flat(dy.size()), dy, "dy");
        Tensor ty = poisoned(e, flat(dy.size()), "y"), tdx = poisoned(e, flat(x.size()), "dx");
        Tensor tdw = poisoned(e, flat(w.size()), "dw"), tdb = poisoned(e, flat(s.out), "db");
        Recorder recorder(e.device());
        kernels::linearForward({e.pipelines(), recorder}, s, tx, tw, tb, ty);
        kernels::linearGradInput({e.pipelines(), recorder}, s, tdy, tw, tdx);
        kernels::linearGradParams({e.pipelines(), recorder}, s, tx, tdy, tdw, tdb);
        recorder.run();
        const auto xd = ref::widen(x), wd = ref::widen(w), bd = ref::widen(b), dyd = ref::widen(dy);
        // in products and the bias: a relative error fails where they cancel (the 1 -> 1 case, in
        // 1 draw of 200).
        checkWithinRounding("forward", e.download(ty), ref::linear(s.batch, s.in, s.out, xd, wd, bd),
                            ref::linear(s.batch, s.in, s.out, absolute(xd), absolute(wd), absolute(bd)), s.in + 1);
        // The gradients of <dy, linear(x, w, b)> by central differences (exact for a linear map).
        auto loss = [&](const ref::Values& xs, const ref::Values& ws, const ref::Values& bs) {
            return ref::dot(dyd, ref::linear(s.batch, s.in, s.out, xs, ws, bs));
        };
        ref::Values dx(x.size()), dw(w.size()), db(b.size());
        for (std::size_t i = 0; i < dx.size(); ++i)
            dx[i] = ref::centralDifference([&](const ref::Values& v) { return loss(v, wd, bd); }, xd, i, 1e-3);
        for (std::size_t i = 0; i < dw.size(); ++i)
            dw[i] = ref::centralDifference([&](const ref::Values& v) { return loss(xd, v, bd); }, wd, i, 1e-3);
        for (std::size_t i = 0; i < db.size(); ++i)
            db[i] = ref::centralDifference([&](const ref::Values& v) { return loss(xd, wd, v); }, bd, i, 1e-3);
        checkClose("grad input", e.download(tdx), dx, 1e-5);
        checkClose("grad weight", e.download(tdw), dw, 1e-5);
        checkClose("grad bias", e.download(tdb), db, 1e-5);
        if (s.batch == 128) break;  // the differences of the big case are slow enough
    }
}

TEST_CASE("softmax cross-entropy matches the reference, also for huge logits", "[loss]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    struct Case {
        uint32_t n, k;
        float scale;
    };
    for (const Case c : {Case{3, 10, 3}, Case{128, 10, 5}, Case{1, 1, 1}, Case{70, 100, 1e4f}}) {
        INFO(c.n << " samples, " << c.k << " classes, logits scale " << c.scale);
        const auto logits = test::randomValues(std::size_t(c.n) * c.k, random, -c.scale, c.scale);
        std::vector<uint32_t> labels(c.n);
        for (auto& l : labels) l = std::uniform_int_distribution<uint32_t>(0, c.k - 1)(random);
        if (c.n > 1) labels.back() = kernels::kIgnoredLabel;  // padding: counts for nothing
        Tensor tl = filled(e, flat(logits.size()), logits, "logits"), td = poisoned(e, flat(logits.size()), "dlogits");
        Tensor labelsTensor = e.tensor(flat(c.n), Category::Other, "labels");
        e.uploadBytes(labelsTensor, std::as_bytes(std::span(labels)));
        Tensor metrics = filled(e, flat(2), {100.0f, 5.0f}, "metrics");
        Recorder recorder(e.device());
        kernels::softmaxCrossEntropy({e.pipelines(), recorder}, c.n, c.k, tl, labelsTensor, td, metrics, 1.0f / c.n, true);
        recorder.run();
        const auto expected = ref::softmaxCrossEntropy(c.n, c.k, ref::widen(logits), labels);
        const auto m = e.download(metrics);
        // Accumulated onto (100, 5). Losses of logits around 1e4 carry float32 rounding of 1e-3 each.
        CHECK(m[0] - 100.0 == Approx(expected.lossSum).epsilon(1e-5).margin(c.n * c.scale * 1e-6));
        CHECK(m[1] - 5.0f == float(expected.correct));
        checkClose("dlogits", e.download(td), expected.dlogits, 1e-5);
    }
}

TEST_CASE("softmax cross-entropy reference gradient agrees with finite differences", "[loss][reference]") {
    auto random = test::freshRandom();
    const uint32_t n = 3, k = 5;
    const auto logits = ref::widen(test::randomValues(n * k, random, -3, 3));
    const std::vector<uint32_t> labels = {0, 4, 2};
    const auto r = ref::softmaxCrossEntropy(n, k, logits, labels);
    for (std::size_t i = 0; i < logits.size(); ++i)
        CHECK(ref::centralDifference([&](const ref::Values& v) { return ref::softmaxCrossEntropy(n, k, v, labels).lossSum / n; },
                                     logits, i, 1e-6) == Approx(r.dlogits[i]).epsilon(1e-6).margin(1e-9));
}

TEST_CASE("SGD follows the learning rate written between replays of one recording", "[sgd]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    for (bool nesterov : {false, true})
        for (float decay : {0.0f, 5e-4f}) {
            INFO("nesterov " << nesterov << " weight decay " << decay);
            const std::size_t count = 1031;
            const auto w0 = test::randomValues(count, random), g = test::randomValues(count, random);
            Tensor tw = filled(e, flat(count), w0, "w"), tg = filled(e, flat(count), g, "g");
            Tensor tv = filled(e, flat(count), std::vector<float>(count, 0.0f), "v");
            Tensor hyper = filled(e, flat(3), {0, 0, 0}, "hyper");
            kernels::SgdOptions options{0.9f, decay, nesterov};
            Recorder recorder(e.device());
            kernels::sgdStep({e.pipelines(), recorder}, tw, tg, tv, hyper, 2, options);
            std::vector<double> w(w0.begin(), w0.end()), v(count, 0.0);
            for (float lr : {0.1f, 0.1f, 0.01f}) {
                e.upload(hyper, std::vector<float>{-1.0f, -1.0f, lr});
                recorder.run();
                for (std::size_t i = 0; i < count; ++i) {
                    const double grad = g[i] + double(decay) * w[i];
                    v[i] = 0.9 * v[i] + grad;
                    w[i] -= lr * (nesterov ? grad + 0.9 * v[i] : v[i]);
                }
            }
            checkClose("weights", e.download(tw), w);
            checkClose("momentum", e.download(tv), v);
        }
}

TEST_CASE("Philox4x32-10 on the host gives the published known answers", "[augment]") {
    // Random123's known-answer tests for philox4x32_10.
    CHECK(philox({0, 0, 0, 0}, {0, 0}) == std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
    CHECK(philox({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}) ==
          std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
}

TEST_CASE("device augmentation crops, flips and normalizes as the host draws say", "[augment]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    struct Case {
        Shape s;
        uint32_t pad, skipImages;
        bool flip;
    };
    for (const Case c : {Case{{5, 3, 32, 32}, 4, 0, true}, Case{{3, 1, 7, 9}, 2, 1, true}, Case{{2, 1, 28, 28}, 0, 3, false},
                         Case{{128, 1, 28, 28}, 0, 0, false}}) {
        INFO(toString(c.s) << " pad " << c.pad << " flip " << c.flip);
        const std::size_t imageBytes = std::size_t(c.s.c) * c.s.h * c.s.w;
        std::vector<uint8_t> bytes((c.s.n + c.skipImages) * imageBytes);
        for (auto& b : bytes) b = uint8_t(random());
        Tensor images = e.tensor(flat((bytes.size() + 3) / 4), Category::Other, "images");
        e.uploadBytes(images, std::as_bytes(std::span(bytes)));
        std::vector<float> norm;
        for (uint32_t k = 0; k < c.s.c; ++k) norm.push_back(0.2f + 0.1f * k);
        for (uint32_t k = 0; k < c.s.c; ++k) norm.push_back(0.3f + 0.05f * k);
        Tensor tnorm = filled(e, flat(norm.size()), norm, "normalization");
        Tensor steps = e.tensor(flat(2), Category::Other, "steps");
        Tensor out = poisoned(e, c.s, "batch");
        kernels::AugmentOptions options{c.pad, c.flip, (uint64_t(random()) << 32) | random(), 7};
        Recorder recorder(e.device());
        kernels::augmentImages({e.pipelines(), recorder}, images, uint32_t(c.skipImages * imageBytes), tnorm, steps, 1, out,
                               options);
        std::vector<float> previous;
        for (uint32_t step : {11u, 12u, 11u}) {
            const uint32_t words[2] = {0xdeadbeefu, step};
            e.uploadBytes(steps, std::as_bytes(std::span(words)));
            recorder.run();
            const auto got = e.download(out);
            ref::Values expected(c.s.elements());
            for (uint32_t n = 0; n < c.s.n; ++n) {
                const auto d = kernels::augmentDraw(options, step, n);
                for (uint32_t k = 0; k < c.s.c; ++k)
                    for (uint32_t y = 0; y < c.s.h; ++y)
                        for (uint32_t x = 0; x < c.s.w; ++x) {
                            const int sx = int(d.flip ? c.s.w - 1 - x : x) + d.dx, sy = int(y) + d.dy;
                            const bool inside = sx >= 0 && sy >= 0 && sx < int(c.s.w) && sy < int(c.s.h);
                            const double raw =
                                inside ? bytes[(c.skipImages + n) * imageBytes + (k * c.s.h + sy) * c.s.w + sx] : 0.0;
                            expected[((std::size_t(n) * c.s.c + k) * c.s.h + y) * c.s.w + x] = (raw / 255 - norm[k]) / norm[c.s.c + k];
                        }
            }
            checkClose("batch", got, expected);
            if (step == 11u && !previous.empty()) CHECK(got == previous);  // a seed and step reproduce the batch
            if (step == 11u) previous = got;
        }
    }
}

TEST_CASE("a grid capped by maxComputeWorkGroupCount still covers every element", "[linear][pooling][portability]") {
    // With two workgroups at most, each invocation loops over many elements: a kernel that did
    // not would leave the poison in place.
    auto random = test::freshRandom();
    EngineOptions o = test::options();
    o.limits = LimitOverrides::parse("maxComputeWorkGroupCount=2");
    Engine e(o);
    {
        const kernels::LinearShape s{37, 29, 11};
        const auto x = test::randomValues(std::size_t(s.batch) * s.in, random);
        const auto w = test::randomValues(std::size_t(s.out) * s.in, random), b = test::randomValues(s.out, random);
        const auto dy = test::randomValues(std::size_t(s.batch) * s.out, random);
        Tensor tx = filled(e, {s.batch, s.in, 1, 1}, x, "x"), tw = filled(e, flat(w.size()), w, "w");
        Tensor tb = filled(e, flat(s.out), b, "b"), tdy = filled(e, flat(dy.size()), dy, "dy");
        Tensor ty = poisoned(e, flat(dy.size()), "y"), tdx = poisoned(e, flat(x.size()), "dx");
        Tensor tdw = poisoned(e, flat(w.size()), "dw"), tdb = poisoned(e, flat(s.out), "db");
        const Shape pooledIn{13, 23, 3, 5};
        const auto px = test::randomValues(pooledIn.elements(), random);
        Tensor tpx = filled(e, pooledIn, px, "pool x"), tpy = poisoned(e, {pooledIn.n, pooledIn.c, 1, 1}, "pool y");
        Recorder recorder(e.device());
        kernels::linearForward({e.pipelines(), recorder}, s, tx, tw, tb, ty);
        kernels::linearGradInput({e.pipelines(), recorder}, s, tdy, tw, tdx);
        kernels::linearGradParams({e.pipelines(), recorder}, s, tx, tdy, tdw, tdb);
        kernels::globalAvgPoolForward({e.pipelines(), recorder}, tpx, tpy);
        recorder.run();
        const auto xd = ref::widen(x), wd = ref::widen(w), dyd = ref::widen(dy);
        checkClose("forward", e.download(ty), ref::linear(s.batch, s.in, s.out, xd, wd, ref::widen(b)));
        // Direct sums in double precision: dx = dy w, dw = dy^T x, db = column sums of dy.
        ref::Values dx(x.size()), dw(w.size()), db(s.out);
        for (uint32_t n = 0; n < s.batch; ++n)
            for (uint32_t k = 0; k < s.out; ++k) {
                db[k] += dyd[n * s.out + k];
                for (uint32_t i = 0; i < s.in; ++i) {
                    dx[n * s.in + i] += dyd[n * s.out + k] * wd[k * s.in + i];
                    dw[k * s.in + i] += dyd[n * s.out + k] * xd[n * s.in + i];
                }
            }
        checkClose("grad input", e.download(tdx), dx);
        checkClose("grad weight", e.download(tdw), dw);
        checkClose("grad bias", e.download(tdb), db);
        checkClose("global pool", e.download(tpy), ref::globalAvgPool(pooledIn, ref::widen(px)));
    }
    test::countValidation(e);
}
