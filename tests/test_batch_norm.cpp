// Batch norm (training statistics, running update, forward with and without ReLU, backward with
// accumulate) against double-precision loops, on channel views of awkward shapes; the reference
// backward against finite differences; stability far from zero; degenerate inputs.
// Thresholds: relative L2 <= 1e-5 forward and <= 1e-4 backward (its sums cancel), max error
// <= 1e-3 of the largest |expected|; an indexing error gives O(1). Inputs offset by 1000 check the
// variance to what float32 inputs allow there (1e-4), where E[x^2] - E[x]^2 would be off by 10%.
#include "revnet/kernels/batch_norm.hpp"
#include "reference/reference.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

using namespace revnet;
using kernels::BatchNormOptions;

namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();
constexpr double kEps = 1e-5;

void checkClose(const char* what, std::span<const float> actual, const ref::Values& expected, double l2) {
    const ref::Error e = ref::compare(actual, expected);
    INFO(what << ": relative L2 " << e.relativeL2 << ", relative max " << e.relativeMax << " at " << e.worst);
    CHECK(e.finite);
    CHECK(e.relativeL2 <= l2);
    CHECK(e.relativeMax <= 1e-3);
}

// A channel range [extra, extra + C) of an N x (C + extra) x H x W tensor, as a dense vector.
std::vector<float> gather(const std::vector<float>& all, const Shape& view, uint32_t extra) {
    std::vector<float> out;
    const std::size_t plane = std::size_t(view.h) * view.w;
    for (uint32_t n = 0; n < view.n; ++n) {
        const auto from = all.begin() + (std::size_t(n) * (view.c + extra) + extra) * plane;
        out.insert(out.end(), from, from + view.c * plane);
    }
    return out;
}

struct Case {
    Shape shape;
    uint32_t extra;  // the kernels see channels [extra, extra + C) of a bigger tensor
    float offset;    // added to every input: statistics must stay accurate far from zero
    float scale = 1;  // inputs of [-2, 2] times this: at 1e-3 the variance is below eps, which must
                      // sit inside the square root (1/sqrt(var + eps), not 1/(sqrt(var) + eps))
};

void runCase(const Case& c, bool relu, bool accumulate, kernels::Variant variant = kernels::Variant::Auto,
             bool split = true) {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    const Shape s = c.shape, all{s.n, s.c + c.extra, s.h, s.w};
    INFO(toString(s) << " extra " << c.extra << " offset " << c.offset << " relu " << relu << " accumulate " << accumulate
                     << " split " << split);
    auto x = test::randomValues(all.elements(), random, -2 * c.scale, 2 * c.scale);
    for (auto& v : x) v += c.offset;
    const auto dy = test::randomValues(all.elements(), random), dxBefore = test::randomValues(all.elements(), random);
    const auto gamma = test::randomValues(s.c, random, 0.5, 1.5), beta = test::randomValues(s.c, random, -0.5, 0.5);
    const auto running = test::randomValues(2 * s.c, random, 0.5, 1.0);
    const Shape params{1, 1, 1, s.c}, pair{1, 1, 1, 2 * s.c};
    Tensor tx = e.tensor(all, Category::Other, "x"), ty = e.tensor(all, Category::Other, "y");
    Tensor tdy = e.tensor(all, Category::Other, "dy"), tdx = e.tensor(all, Category::Other, "dx");
    Tensor tg = e.tensor(params, Category::Other, "gamma"), tb = e.tensor(params, Category::Other, "beta");
    Tensor tdg = e.tensor(params, Category::Other, "dgamma"), tdb = e.tensor(params, Category::Other, "dbeta");
    Tensor stats = e.tensor(pair, Category::Other, "stats"), trun = e.tensor(pair, Category::Other, "running");
    e.upload(tx, x);
    e.upload(tdy, dy);
    e.upload(tdx, accumulate ? dxBefore : std::vector<float>(all.elements(), kPoison));
    e.upload(ty, std::vector<float>(all.elements(), kPoison));
    e.upload(tg, gamma);
    e.upload(tb, beta);
    e.upload(trun, running);
    for (const Tensor* t : {&tdg, &tdb}) e.upload(*t, std::vector<float>(s.c, kPoison));
    e.upload(stats, std::vector<float>(2 * s.c, kPoison));

    BatchNormOptions options;
    options.relu = relu;
    options.eps = float(kEps);
    options.momentum = 0.25f;
    options.variant = variant;
    // The reductions split over parts of the batch where they are lent room for them.
    const uint64_t partialFloats = split ? kernels::batchNormPartials(s.c, s.n) : 0;
    std::optional<Tensor> partials;
    if (partialFloats) {
        partials.emplace(e.tensor({1, 1, 1, uint32_t(partialFloats)}, Category::Other, "partials"));
        e.upload(*partials, std::vector<float>(partialFloats, kPoison));
        options.partials = partials->view();
    }
    Recorder recorder(e.device());
    const auto xv = tx.view().channels(c.extra, s.c), dxv = tdx.view().channels(c.extra, s.c);
    kernels::batchNormStatistics({e.pipelines(), recorder}, xv, stats, trun, true, options);
    kernels::batchNormForward({e.pipelines(), recorder}, xv, stats, tg, tb, ty.view().channels(c.extra, s.c), options);
    kernels::batchNormBackward({e.pipelines(), recorder}, xv, tdy.view().channels(c.extra, s.c), stats, tg, tb, tdg, tdb,
                               dxv, accumulate, options);
    recorder.run();

    const auto xd = ref::widen(gather(x, s, c.extra)), dyd = ref::widen(gather(dy, s, c.extra));
    const auto f = ref::batchNormForward(s, xd, ref::widen(gamma), ref::widen(beta), kEps, relu);
    const auto g = ref::batchNormBackward(s, xd, dyd, ref::widen(gamma), ref::widen(beta), kEps, relu);
    const auto st = e.download(stats), run = e.download(trun);
    const double m = s.n * double(s.h) * s.w;
    // The mean against the float32 bound of a tree sum, (log2 M + 1) roundings of the sum of |x|:
    // relative to the mean itself it is unbounded where the values cancel (fresh draws of one
    // channel failed a relative 1e-5 now and then); a missing or doubled element is off by |x|/M.
    for (uint32_t k = 0; k < s.c; ++k) {
        double absSum = 0;
        for (uint32_t n = 0; n < s.n; ++n)
            for (uint32_t i = 0; i < s.h * s.w; ++i) absSum += std::abs(xd[(std::size_t(n) * s.c + k) * s.h * s.w + i]);
        const double bound = 4 * std::ldexp(1.0, -24) * (std::log2(m) + 1) * absSum / m;
        INFO("mean of channel " << k << ": " << st[k] << " against " << f.mean[k] << ", bound " << bound);
        CHECK(std::abs(st[k] - f.mean[k]) <= bound);
    }
    // Far from zero, x - mean can be no closer than a rounding of x (2^-24 of the offset): the
    // variance then carries up to 2^-23 * offset / deviation of relative error (1e-4 at offset
    // 1000, where E[x^2] - E[x]^2 would be off by 10%). Fresh draws reach 1.1e-5 there.
    const double deviation = c.scale * 4 / std::sqrt(12.0);
    const double varianceL2 = std::max(1e-5, std::ldexp(1.0, -23) * std::abs(c.offset) / deviation);
    checkClose("variance", std::span(st).last(s.c), f.var, varianceL2);
    ref::Values expectedRunning(2 * s.c);
    for (uint32_t k = 0; k < s.c; ++k) {
        expectedRunning[k] = running[k] + 0.25 * (f.mean[k] - running[k]);
        const double unbiased = m > 1 ? f.var[k] * m / (m - 1) : f.var[k];
        expectedRunning[s.c + k] = running[s.c + k] + 0.25 * (unbiased - running[s.c + k]);
    }
    checkClose("running statistics", run, expectedRunning, varianceL2);
    // Far from zero the float32 mean itself is off by up to half an ulp of the offset (3e-5 at
    // 1000), which moves every normalized value by that over the deviation.
    checkClose("forward", gather(e.download(ty), s, c.extra), f.y, c.offset ? 1e-4 : 1e-5);
    auto dxExpected = g.dx;
    if (accumulate) {
        const auto before = gather(dxBefore, s, c.extra);
        for (std::size_t i = 0; i < dxExpected.size(); ++i) dxExpected[i] += before[i];
    }
    checkClose("dx", gather(e.download(tdx), s, c.extra), dxExpected, 1e-4);
    // dgamma and dbeta are sums over N*H*W terms of either sign: where they nearly cancel, a
    // relative error says little. float32 summation stays within ~count * 2^-24 of the sum of the
    // terms' magnitudes; 1e-5 of that sum bounds it with room, a wrong term breaks it.
    const auto dgamma = e.download(tdg), dbeta = e.download(tdb);
    const std::size_t plane = std::size_t(s.h) * s.w;
    for (uint32_t k = 0; k < s.c; ++k) {
        double magnitudeG = 0, magnitudeB = 0;
        for (uint32_t n = 0; n < s.n; ++n)
            for (std::size_t i = 0; i < plane; ++i) {
                const std::size_t at = (std::size_t(n) * s.c + k) * plane + i;
                if (relu && f.y[at] <= 0) continue;
                const double xhat = (xd[at] - f.mean[k]) / std::sqrt(f.var[k] + kEps);
                magnitudeB += std::fabs(dyd[at]);
                magnitudeG += std::fabs(dyd[at] * xhat);
            }
        INFO("channel " << k);
        // Far from zero every xhat also carries the float32 mean's rounding (see the forward).
        const double xhatError = c.offset ? 1e-4 : 0.0;
        CHECK(std::fabs(dgamma[k] - g.dgamma[k]) <= 1e-5 * magnitudeG + xhatError * magnitudeB + 1e-7);
        CHECK(std::fabs(dbeta[k] - g.dbeta[k]) <= 1e-5 * magnitudeB + 1e-7);
    }
    // Channels outside the view keep their contents.
    const auto yAll = e.download(ty);
    for (uint32_t n = 0; n < s.n && c.extra; ++n) CHECK(std::isnan(yAll[std::size_t(n) * all.c * s.h * s.w]));
}

}  // namespace

TEST_CASE("batch norm matches the double-precision reference", "[batch_norm]") {
    const std::vector<Case> cases = {
        {{3, 5, 7, 9}, 0, 0},  {{1, 17, 9, 9}, 3, 0}, {{3, 1, 28, 28}, 0, 0},
        {{2, 3, 32, 32}, 2, 0}, {{3, 3, 1, 7}, 1, 0},  {{4, 5, 8, 8}, 0, 1000}, {{3, 4, 6, 6}, 1, 0, 1e-3f},
        {{7, 100, 4, 4}, 0, 0},  // 7 samples in 6 parts: one part of two, the others' second step added as zeros
    };
    // Far from zero, xhat carries the float32 mean's rounding (3e-5 at 1000): a ReLU would take
    // the other branch for values that close to its kink, so that case runs without one.
    for (const auto& c : cases)
        for (bool relu : {false, true})
            if (!(relu && c.offset != 0)) runCase(c, relu, relu);
    // Lent no room for partial sums, a channel's reduction is one workgroup's: the same results.
    for (const auto& c : {cases[0], cases[3], cases[5]}) runCase(c, false, true, kernels::Variant::Auto, false);
    // Each channel splits over parts of the batch (as many as there are samples here, up to 64,
    // shared unevenly past that), merged in order, on either variant (the GPU's reductions use
    // wider workgroups): the same results.
    const std::vector<Case> split = {cases[0], cases[3], {{37, 4, 5, 6}, 1, 0}, {{70, 3, 4, 4}, 0, 0}, cases[5]};
    for (const auto& c : split) {
        CHECK(kernels::batchNormParts(c.shape.c, c.shape.n) == std::min(c.shape.n, 64u));
        for (const auto variant : {kernels::Variant::Cpu, kernels::Variant::Gpu})
            for (bool relu : {false, true})
                if (!(relu && c.offset != 0)) runCase(c, relu, relu, variant);
    }
}

TEST_CASE("batch norm reference backward agrees with finite differences", "[batch_norm][reference]") {
    auto random = test::freshRandom();
    const Shape s{3, 2, 2, 3};
    const auto x = ref::widen(test::randomValues(s.elements(), random, -2, 2));
    const auto gamma = ref::widen(test::randomValues(2, random, 0.5, 1.5)), beta = ref::widen(test::randomValues(2, random));
    const auto dy = ref::widen(test::randomValues(s.elements(), random));
    for (bool relu : {false, true}) {
        const auto g = ref::batchNormBackward(s, x, dy, gamma, beta, kEps, relu);
        auto loss = [&](const ref::Values& xs, const ref::Values& gs, const ref::Values& bs) {
            return ref::dot(dy, ref::batchNormForward(s, xs, gs, bs, kEps, relu).y);
        };
        for (std::size_t i = 0; i < x.size(); i += 5)
            CHECK(ref::centralDifference([&](const ref::Values& v) { return loss(v, gamma, beta); }, x, i, 1e-6) ==
                  Approx(g.dx[i]).epsilon(1e-5).margin(1e-7));
        for (std::size_t c = 0; c < 2; ++c) {
            CHECK(ref::centralDifference([&](const ref::Values& v) { return loss(x, v, beta); }, gamma, c, 1e-6) ==
                  Approx(g.dgamma[c]).epsilon(1e-5).margin(1e-7));
            CHECK(ref::centralDifference([&](const ref::Values& v) { return loss(x, gamma, v); }, beta, c, 1e-6) ==
                  Approx(g.dbeta[c]).epsilon(1e-5).margin(1e-7));
        }
    }
}

TEST_CASE("batch norm stays finite on degenerate inputs", "[batch_norm]") {
    Engine& e = test::engine();
    // A constant channel (zero variance), and batch 1 at 1x1 (one value per channel).
    for (const Shape s : {Shape{4, 2, 3, 3}, Shape{1, 3, 1, 1}}) {
        INFO(toString(s));
        Tensor x = e.tensor(s, Category::Other, "x"), y = e.tensor(s, Category::Other, "y");
        Tensor dy = e.tensor(s, Category::Other, "dy"), dx = e.tensor(s, Category::Other, "dx");
        const Shape params{1, 1, 1, s.c}, pair{1, 1, 1, 2 * s.c};
        Tensor g = e.tensor(params, Category::Other, "gamma"), b = e.tensor(params, Category::Other, "beta");
        Tensor dg = e.tensor(params, Category::Other, "dgamma"), db = e.tensor(params, Category::Other, "dbeta");
        Tensor stats = e.tensor(pair, Category::Other, "stats"), run = e.tensor(pair, Category::Other, "running");
        e.upload(x, std::vector<float>(s.elements(), 3.5f));
        e.upload(dy, std::vector<float>(s.elements(), 1.0f));
        e.upload(g, std::vector<float>(s.c, 1.0f));
        e.upload(b, std::vector<float>(s.c, 0.25f));
        e.upload(run, std::vector<float>(2 * s.c, 1.0f));
        Recorder recorder(e.device());
        kernels::batchNormStatistics({e.pipelines(), recorder}, x, stats, run, true);
        kernels::batchNormForward({e.pipelines(), recorder}, x, stats, g, b, y);
        kernels::batchNormBackward({e.pipelines(), recorder}, x, dy, stats, g, b, dg, db, dx, false);
        recorder.run();
        for (float v : e.download(y)) CHECK(v == 0.25f);  // x - mean = 0 exactly
        for (float v : e.download(dx)) CHECK(std::isfinite(v));
        for (float v : e.download(run)) CHECK(std::isfinite(v));
        CHECK(e.download(stats)[s.c] == 0.0f);
    }
}
