// Kernels over tensors larger than maxStorageBufferRange run in batch chunks (kernels/dispatch.hpp),
// and SGD in ranges of its flat parameters.
// Here the range is lowered to 64 KiB, so that tensors of a few hundred KiB split into chunks of
// a few samples, and every kernel over samples is checked against the double-precision
// references: the per-sample ones, and the reductions over the batch that chunks add up in order
// (convolution weight gradients, batch-norm statistics and parameter gradients). Batch norm is also
// checked past a lowered maxTexelBufferElements, where it loads from storage buffers.
#include "revnet/kernels/batch_norm.hpp"
#include "revnet/kernels/conv2d.hpp"
#include "revnet/kernels/elementwise.hpp"
#include "revnet/kernels/pooling.hpp"
#include "revnet/kernels/sgd.hpp"
#include "reference/reference.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <random>

using namespace revnet;

namespace {

void checkClose(const char* what, std::span<const float> actual, const ref::Values& expected, double l2) {
    const ref::Error e = ref::compare(actual, expected);
    INFO(what << ": relative L2 " << e.relativeL2 << ", relative max " << e.relativeMax << " at " << e.worst);
    CHECK(e.finite);
    CHECK(e.relativeL2 <= l2);
}

Tensor filled(Engine& e, Shape s, const std::vector<float>& values, const char* name) {
    Tensor t = e.tensor(s, Category::Other, name);
    e.upload(t, values);
    return t;
}

Tensor poisoned(Engine& e, Shape s, const char* name) {
    return filled(e, s, std::vector<float>(s.elements(), std::numeric_limits<float>::quiet_NaN()), name);
}

Shape flat(std::size_t n) { return {1, 1, 1, uint32_t(n)}; }

Engine lowRangeEngine() {
    EngineOptions o = test::options();
    o.limits = LimitOverrides::parse("maxStorageBufferRange=65536");
    return Engine(o);
}

}  // namespace

TEST_CASE("convolutions split the batch past maxStorageBufferRange", "[conv2d][chunks]") {
    auto random = test::freshRandom();
    Engine e = lowRangeEngine();
    {
        // 5 KiB to 8 KiB a sample, 13 samples: several chunks, the last one short.
        for (const kernels::Conv2dShape s : {kernels::Conv2dShape{{13, 8, 16, 16}, 5, 3, 3, 1, 1},
                                             kernels::Conv2dShape{{13, 5, 17, 15}, 8, 3, 3, 2, 1}}) {
            for (kernels::Variant variant : {kernels::Variant::Cpu, kernels::Variant::Gpu}) {
                INFO(toString(s.input) << (variant == kernels::Variant::Cpu ? " cpu" : " gpu"));
                const kernels::Conv2d conv(e.info(), s, variant);
                const Shape out = s.output();
                const auto x = test::randomValues(s.input.elements(), random), dy = test::randomValues(out.elements(), random);
                const auto w = test::randomValues(s.weight().elements(), random);
                Tensor tx = filled(e, s.input, x, "x"), tdy = filled(e, out, dy, "dy"), tw = filled(e, s.weight(), w, "w");
                Tensor ty = poisoned(e, out, "y"), tdx = poisoned(e, s.input, "dx"), tdw = poisoned(e, s.weight(), "dw");
                REQUIRE(tx.bytes() > e.info().limits.maxStorageBufferRange);
                Tensor work = e.tensor(flat(conv.workspaceElements()), Category::Workspace, "workspace");
                Recorder recorder(e.device());
                conv.forward({e.pipelines(), recorder}, tx, tw, ty, work);
                conv.gradInput({e.pipelines(), recorder}, tdy, tw, tdx, work);
                conv.gradWeight({e.pipelines(), recorder}, tx, tdy, tdw, work);
                recorder.run();
                const ref::ConvGeometry g{s.input, s.outChannels, s.kernelH, s.kernelW, s.stride, s.pad};
                const auto xd = ref::widen(x), dyd = ref::widen(dy), wd = ref::widen(w);
                checkClose("forward", e.download(ty), ref::convForward(g, xd, wd), 1e-5);
                checkClose("grad input", e.download(tdx), ref::convGradInput(g, dyd, wd), 1e-5);
                checkClose("grad weight", e.download(tdw), ref::convGradWeight(g, xd, dyd), 1e-5);
            }
        }
    }
    test::countValidation(e);
}

namespace {

// Batch-norm statistics, forward and backward (fused with ReLU) over a random `s`, against the
// double-precision references.
void checkBatchNorm(Engine& e, const Shape& s, std::mt19937& random) {
    kernels::BatchNormOptions options;
    options.relu = true;
    options.momentum = 0.5f;
    const auto x = test::randomValues(s.elements(), random, -2.0f, 3.0f), dy = test::randomValues(s.elements(), random);
    const auto gamma = test::randomValues(s.c, random), beta = test::randomValues(s.c, random);
    Tensor tx = filled(e, s, x, "x"), tdy = filled(e, s, dy, "dy");
    Tensor tg = filled(e, flat(s.c), gamma, "gamma"), tb = filled(e, flat(s.c), beta, "beta");
    Tensor stats = poisoned(e, flat(2 * s.c), "stats"), running = filled(e, flat(2 * s.c), std::vector<float>(2 * s.c, 0.0f), "running");
    Tensor ty = poisoned(e, s, "y"), tdx = poisoned(e, s, "dx"), tdg = poisoned(e, flat(s.c), "dgamma"), tdb = poisoned(e, flat(s.c), "dbeta");
    Recorder recorder(e.device());
    kernels::batchNormStatistics({e.pipelines(), recorder}, tx, stats, running, true, options);
    kernels::batchNormForward({e.pipelines(), recorder}, tx, stats, tg, tb, ty, options);
    kernels::batchNormBackward({e.pipelines(), recorder}, tx, tdy, stats, tg, tb, tdg, tdb, tdx, false, options);
    recorder.run();

    const auto xd = ref::widen(x), gd = ref::widen(gamma), bd = ref::widen(beta), dyd = ref::widen(dy);
    const auto f = ref::batchNormForward(s, xd, gd, bd, options.eps, true);
    const auto b = ref::batchNormBackward(s, xd, dyd, gd, bd, options.eps, true);
    const auto st = e.download(stats);
    checkClose("mean", std::span(st).first(s.c), f.mean, 1e-5);
    checkClose("variance", std::span(st).last(s.c), f.var, 1e-5);
    // The running statistics moved once, from zero, with the whole batch's (unbiased variance).
    const double m = double(s.n) * s.h * s.w;
    ref::Values expectedRunning(2 * s.c);
    for (uint32_t c = 0; c < s.c; ++c) {
        expectedRunning[c] = 0.5 * f.mean[c];
        expectedRunning[s.c + c] = 0.5 * f.var[c] * m / (m - 1);
    }
    checkClose("running statistics", e.download(running), expectedRunning, 1e-5);
    checkClose("forward", e.download(ty), f.y, 1e-5);
    checkClose("dx", e.download(tdx), b.dx, 1e-4);
    checkClose("dgamma", e.download(tdg), b.dgamma, 1e-4);
    checkClose("dbeta", e.download(tdb), b.dbeta, 1e-5);
}

}  // namespace

TEST_CASE("batch norm, pooling and elementwise kernels split the batch past maxStorageBufferRange", "[batch_norm][chunks]") {
    auto random = test::freshRandom();
    Engine e = lowRangeEngine();
    {
        const Shape s{11, 6, 16, 24};  // 9 KiB a sample
        REQUIRE(s.elements() * sizeof(float) > e.info().limits.maxStorageBufferRange);
        checkBatchNorm(e, s, random);
        const auto x = test::randomValues(s.elements(), random), dy = test::randomValues(s.elements(), random);
        Tensor tx = filled(e, s, x, "x"), tdy = filled(e, s, dy, "dy");
        const Shape pooledShape{s.n, s.c, s.h / 2, s.w / 2}, globalShape{s.n, s.c, 1, 1};
        Tensor pooled = poisoned(e, pooledShape, "pooled"), global = poisoned(e, globalShape, "global");
        Tensor sum = poisoned(e, s, "x + dy");
        Recorder recorder(e.device());
        kernels::avgPool2x2Forward({e.pipelines(), recorder}, tx, pooled, 0);
        kernels::globalAvgPoolForward({e.pipelines(), recorder}, tx, global);
        kernels::add({e.pipelines(), recorder}, tx, tdy, sum);
        recorder.run();

        const auto xd = ref::widen(x), dyd = ref::widen(dy);
        checkClose("2x2 average pool", e.download(pooled), ref::avgPool2x2(s, xd, s.c, 0), 1e-6);
        checkClose("global average pool", e.download(global), ref::globalAvgPool(s, xd), 1e-6);
        ref::Values added(s.elements());
        for (std::size_t i = 0; i < added.size(); ++i) added[i] = xd[i] + dyd[i];
        checkClose("add", e.download(sum), added, 1e-7);
    }
    test::countValidation(e);
}

// Batch norm reads its vec4 inputs as texels where they fit maxTexelBufferElements (channels.glsl,
// TEXELS) and from its storage bindings where they do not: both paths against the references.
TEST_CASE("batch norm loads through storage buffers past maxTexelBufferElements", "[batch_norm][chunks]") {
    auto random = test::freshRandom();
    EngineOptions o = test::options();
    o.limits = LimitOverrides::parse("maxTexelBufferElements=1024");
    Engine e(o);
    for (const Shape s : {Shape{3, 5, 8, 12}, Shape{7, 6, 16, 24}}) {  // 360 and 4032 texels
        INFO(toString(s) << (s.elements() / 4 <= e.info().limits.maxTexelBufferElements ? ": texels" : ": storage"));
        checkBatchNorm(e, s, random);
    }
    test::countValidation(e);
}

TEST_CASE("SGD updates parameters past maxStorageBufferRange in ranges; max pooling splits the batch",
          "[sgd][pooling][chunks]") {
    // 40003 parameters (160 KB, three 64 KiB ranges) at an offset of 3 floats (the scalar path)
    // and at 0 with a multiple of 4 (the vec4 path), against one double-precision step.
    auto random = test::freshRandom();
    Engine e = lowRangeEngine();
    {
        const float lr = 0.05f, mu = 0.9f, decay = 1e-3f;
        Tensor hyper = filled(e, flat(1), {lr}, "lr");
        for (const auto& [offset, count] : {std::pair<uint64_t, uint64_t>{3, 40003}, std::pair<uint64_t, uint64_t>{0, 40004}}) {
            INFO(count << " parameters at offset " << offset);
            const auto w = test::randomValues(offset + count, random), g = test::randomValues(offset + count, random);
            const auto v = test::randomValues(offset + count, random);
            Tensor tw = filled(e, flat(offset + count), w, "w"), tg = filled(e, flat(offset + count), g, "g");
            Tensor tv = filled(e, flat(offset + count), v, "v");
            Recorder recorder(e.device());
            kernels::sgdStep({e.pipelines(), recorder}, tw.view().range(offset, count), tg.view().range(offset, count),
                             tv.view().range(offset, count), hyper, 0, {mu, decay, false});
            recorder.run();
            ref::Values expectedW(w.begin(), w.end()), expectedV(v.begin(), v.end());
            for (uint64_t i = offset; i < offset + count; ++i) {
                expectedV[i] = double(mu) * v[i] + g[i] + double(decay) * w[i];
                expectedW[i] = w[i] - double(lr) * expectedV[i];
            }
            checkClose("weights", e.download(tw), expectedW, 1e-7);
            checkClose("momentum", e.download(tv), expectedV, 1e-7);
        }
        // 13 samples of 8 x 30 x 30 (28 KiB): two a chunk.
        const Shape s{13, 8, 30, 30};
        const Shape out = kernels::maxPool3x3Output(s);
        auto x = test::randomValues(s.elements(), random);
        for (auto& value : x) value = std::max(value, 0.0f);  // ties, as after a ReLU
        const auto dy = test::randomValues(out.elements(), random);
        Tensor tx = filled(e, s, x, "x"), tdy = filled(e, out, dy, "dy"), ty = poisoned(e, out, "y"), tdx = poisoned(e, s, "dx");
        Recorder recorder(e.device());
        kernels::maxPool3x3Forward({e.pipelines(), recorder}, tx, ty);
        kernels::maxPool3x3Backward({e.pipelines(), recorder}, tx, tdy, tdx, false);
        recorder.run();
        checkClose("max pool", e.download(ty), ref::maxPool3x3(s, ref::widen(x)), 1e-7);
        checkClose("max pool backward", e.download(tdx), ref::maxPool3x3Backward(s, ref::widen(x), ref::widen(dy)), 1e-7);
    }
    test::countValidation(e);
}
