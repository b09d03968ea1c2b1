// Each elementwise kernel against the same arithmetic on the host in double precision, on fresh
// random data of awkward sizes, with the output poisoned (NaN) first so that an element the
// kernel never writes fails. Views of channel ranges check offsets and strides, and that the
// elements outside the view keep their values.
#include "revnet/kernels/elementwise.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>

using namespace revnet;

namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

// The index within a dense tensor of `shape` of element i of the view's channels [c0, c0+cn).
std::size_t viewIndex(const Shape& shape, uint32_t c0, uint32_t cn, std::size_t i) {
    const std::size_t plane = std::size_t{shape.h} * shape.w, perSample = cn * plane;
    const std::size_t n = i / perSample, rest = i % perSample;
    return (n * shape.c + c0) * plane + rest;
}

struct Case {
    Shape shape;
    uint32_t c0, cn;  // the channel range the kernel sees
};

// Element-wise expectation from the inputs (doubles), checked over the view; outside the view
// the output must keep its poison (or its input, for in-place kernels).
using Reference = std::function<double(double a, double b, double out)>;
using Launch = std::function<void(Pipelines&, Recorder&, const TensorView& a, const TensorView& b, const TensorView& out)>;

void checkKernel(const char* name, const Launch& launch, const Reference& reference, bool inPlaceOnB = false) {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    const std::vector<Case> cases = {
        {{1, 1, 1, 1}, 0, 1},      {{1, 1, 1, 7}, 0, 1},     {{1, 1, 1, 4097}, 0, 1},
        {{1, 1, 1, 4096}, 0, 1},   {{3, 5, 7, 9}, 0, 5},     {{3, 6, 7, 9}, 3, 3},
        {{3, 17, 9, 9}, 1, 7},     {{2, 8, 4, 4}, 4, 4},     {{1, 3, 28, 28}, 2, 1},
    };
    for (const auto& c : cases) {
        INFO(name << " on " << toString(c.shape) << " channels " << c.c0 << "+" << c.cn);
        const std::size_t total = c.shape.elements();
        const auto a = test::randomValues(total, random), b = test::randomValues(total, random);
        Tensor ta = e.tensor(c.shape, Category::Other, "a"), tb = e.tensor(c.shape, Category::Other, "b"),
               tout = e.tensor(c.shape, Category::Other, "out");
        e.upload(ta, a);
        e.upload(tb, b);
        e.upload(tout, std::vector<float>(total, kPoison));
        Recorder recorder(e.device());
        launch(e.pipelines(), recorder, ta.view().channels(c.c0, c.cn), tb.view().channels(c.c0, c.cn),
               tout.view().channels(c.c0, c.cn));
        recorder.run();
        const auto out = e.download(inPlaceOnB ? tb : tout);

        std::vector<bool> inside(total, false);
        const std::size_t count = total / c.shape.c * c.cn;
        double maxError = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t at = viewIndex(c.shape, c.c0, c.cn, i);
            inside[at] = true;
            const double expected = reference(a[at], b[at], 0.0);
            maxError = std::max(maxError, std::fabs(out[at] - expected) / (1 + std::fabs(expected)));
            if (!(std::fabs(out[at] - expected) <= 1e-6 * (1 + std::fabs(expected)))) {
                FAIL_CHECK("element " << at << ": " << out[at] << ", expected " << expected);
                break;
            }
        }
        std::size_t touched = 0;
        for (std::size_t i = 0; i < total; ++i)
            if (!inside[i]) touched += inPlaceOnB ? out[i] != b[i] : !std::isnan(out[i]);
        CHECK(touched == 0);
        CHECK(maxError <= 1e-6);  // float32 rounding of one or two operations; a wrong index gives O(1)
    }
}

}  // namespace

TEST_CASE("fill writes the value to every element of the view and nothing else", "[kernels]") {
    checkKernel("fill", [](auto& p, auto& r, auto&, auto&, auto& out) { kernels::fill({p, r}, out, -2.5f); },
                [](double, double, double) { return -2.5; });
}

TEST_CASE("copy copies between views", "[kernels]") {
    checkKernel("copy", [](auto& p, auto& r, auto& a, auto&, auto& out) { kernels::copy({p, r}, a, out); },
                [](double a, double, double) { return a; });
}

TEST_CASE("add, subtract and alpha x + beta y", "[kernels]") {
    checkKernel("add", [](auto& p, auto& r, auto& a, auto& b, auto& out) { kernels::add({p, r}, a, b, out); },
                [](double a, double b, double) { return a + b; });
    checkKernel("subtract", [](auto& p, auto& r, auto& a, auto& b, auto& out) { kernels::subtract({p, r}, a, b, out); },
                [](double a, double b, double) { return a - b; });
    checkKernel("axpby",
                [](auto& p, auto& r, auto& a, auto& b, auto& out) { kernels::axpby({p, r}, 0.75f, a, -1.5f, b, out); },
                [](double a, double b, double) { return 0.75 * a - 1.5 * b; });
}

TEST_CASE("scale-and-add accumulates in place", "[kernels]") {
    checkKernel("scaleAdd", [](auto& p, auto& r, auto& a, auto& b, auto&) { kernels::scaleAdd({p, r}, 0.3f, a, b); },
                [](double a, double b, double) { return b + 0.3 * a; }, /*inPlaceOnB=*/true);
}

TEST_CASE("ReLU forward and backward", "[kernels]") {
    checkKernel("relu forward", [](auto& p, auto& r, auto& a, auto&, auto& out) { kernels::reluForward({p, r}, a, out); },
                [](double a, double, double) { return a > 0 ? a : 0.0; });
    checkKernel("relu backward",
                [](auto& p, auto& r, auto& a, auto& b, auto& out) { kernels::reluBackward({p, r}, a, b, out); },
                [](double x, double dy, double) { return x > 0 ? dy : 0.0; });
}

TEST_CASE("the additive coupling and its inverse rebuild the input of a RevNet unit", "[kernels]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    auto& p = e.pipelines();
    for (const Shape shape : {Shape{3, 10, 7, 9}, Shape{2, 8, 8, 8}, Shape{1, 2, 1, 1}}) {
        INFO(toString(shape));
        const std::size_t total = shape.elements();
        const uint32_t half = shape.c / 2;
        const auto x = test::randomValues(total, random);
        const auto f = test::randomValues(total / 2, random, -4, 4), g = test::randomValues(total / 2, random, -4, 4);
        const Shape halfShape{shape.n, half, shape.h, shape.w};
        Tensor tx = e.tensor(shape, Category::Activations, "x");
        Tensor tf = e.tensor(halfShape, Category::Workspace, "F"), tg = e.tensor(halfShape, Category::Workspace, "G");
        e.upload(tx, x);
        e.upload(tf, f);
        e.upload(tg, g);
        const TensorView x1 = tx.view().channels(0, half), x2 = tx.view().channels(half, half);

        Recorder forward(e.device());
        kernels::couplingForward({p, forward}, x1, tf);  // y1 = x1 + F
        kernels::couplingForward({p, forward}, x2, tg);  // y2 = x2 + G
        forward.run();
        const auto y = e.download(tx);
        const std::size_t plane = std::size_t{shape.h} * shape.w;
        for (std::size_t i = 0; i < total; ++i) {
            const std::size_t n = i / (shape.c * plane), c = i / plane % shape.c, hw = i % plane;
            const std::size_t j = (n * half + c % half) * plane + hw;
            const double expected = double(x[i]) + (c < half ? f[j] : g[j]);
            REQUIRE(std::fabs(y[i] - expected) <= 1e-6 * (1 + std::fabs(expected)));
        }

        Recorder inverse(e.device());
        kernels::couplingInverse({p, inverse}, x2, tg);  // x2 = y2 - G
        kernels::couplingInverse({p, inverse}, x1, tf);  // x1 = y1 - F
        inverse.run();
        const auto rebuilt = e.download(tx);
        double maxError = 0;
        for (std::size_t i = 0; i < total; ++i) maxError = std::max(maxError, double(std::fabs(rebuilt[i] - x[i])));
        // Two float32 roundings at magnitudes up to 5: within a few ulps of 5, never more.
        CHECK(maxError <= 4 * 5 * std::numeric_limits<float>::epsilon());
    }
}

TEST_CASE("quantize rounds to the fixed-point grid, ties to even, and flags values past its exact range", "[kernels]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    for (const Shape shape : {Shape{3, 6, 7, 9}, Shape{2, 8, 4, 4}, Shape{1, 1, 1, 5}}) {
        const uint32_t bits = 4 + random() % 17;  // 4 to 20
        const double quantum = std::ldexp(1.0, -int(bits)), bound = kernels::exactBound(bits);
        INFO(toString(shape) << ", " << bits << " fraction bits");
        const std::size_t total = shape.elements();
        auto x = test::randomValues(total, random, -float(bound) / 2, float(bound) / 2);
        // Exact halves of the grid's step: they must go to the even neighbour, as on every device.
        for (std::size_t i = 0; i < total; i += 3) x[i] = float((std::floor(x[i] / quantum) + 0.5) * quantum);
        const uint32_t c0 = shape.c > 1 ? 1 : 0, cn = shape.c > 1 ? shape.c - 1 : 1;
        for (const bool past : {false, true}) {
            INFO((past ? "one value past the bound" : "all values inside"));
            std::vector<float> input = x;
            const std::size_t last = viewIndex(shape, c0, cn, total / shape.c * cn - 1);
            if (past) input[last] = float(-bound);
            Tensor tx = e.tensor(shape, Category::Other, "x"), flag = e.tensor({1, 1, 1, 1}, Category::Other, "overflow");
            e.upload(tx, input);
            e.upload(flag, std::vector<float>{0.0f});
            Recorder recorder(e.device());
            kernels::quantize({e.pipelines(), recorder}, tx.view().channels(c0, cn), {bits, flag.view()});
            recorder.run();
            const auto out = e.download(tx);
            std::vector<bool> inside(total, false);
            std::size_t wrong = 0;
            for (std::size_t i = 0; i < total / shape.c * cn; ++i) {
                const std::size_t at = viewIndex(shape, c0, cn, i);
                inside[at] = true;
                const float expected = float(std::ldexp(std::nearbyint(std::ldexp(double(input[at]), int(bits))), -int(bits)));
                wrong += out[at] != expected;
            }
            for (std::size_t i = 0; i < total; ++i) wrong += !inside[i] && out[i] != input[i];
            CHECK(wrong == 0);
            CHECK((e.download(flag)[0] != 0.0f) == past);
        }
    }
}

TEST_CASE("kernels refuse views of different shapes or with scattered samples", "[kernels]") {
    Engine& e = test::engine();
    Tensor a = e.tensor({2, 4, 3, 3}, Category::Other, "a"), b = e.tensor({2, 4, 3, 3}, Category::Other, "b");
    Recorder r(e.device());
    CHECK_THROWS_WITH(kernels::copy({e.pipelines(), r}, a.view().channels(0, 2), b),
                      Catch::Contains("2x2x3x3") && Catch::Contains("2x4x3x3"));
    CHECK(r.dispatches() == 0);
}
