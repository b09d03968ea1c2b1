// Half-precision storage against an independent host rounding in double precision (nearest
// half, ties to even, infinity past 65504), on fresh random values spanning every binade of
// binary16 and beyond, with exact ties, subnormals, signed zeros, infinities and NaN; on
// channel-range views of odd length, so that the padding of the last pair and the elements
// outside the view are checked too.
#include "revnet/kernels/half_storage.hpp"
#include "reference/reference.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

using namespace revnet;

namespace {

std::vector<float> awkwardValues(std::size_t count, std::mt19937& random) {
    std::uniform_real_distribution<double> mantissa(1.0, 2.0);
    std::uniform_int_distribution<int> exponent(-30, 17), ulps(0, 1023);
    const float specials[] = {0.0f, -0.0f, 65504.0f, 65519.996f, 65520.0f, -65520.0f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f,
                              std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::quiet_NaN(), 1e-40f};
    std::vector<float> v(count);
    for (std::size_t i = 0; i < count; ++i) {
        const double sign = random() % 2 ? -1.0 : 1.0;
        const int e = exponent(random);
        switch (i % 4) {
            case 0: v[i] = float(sign * std::ldexp(mantissa(random), e)); break;
            case 1:  // exactly halfway between two halves of this binade (or two subnormals)
                v[i] = float(sign * std::ldexp(1.0 + (ulps(random) + 0.5) / 1024.0, std::max(e, -14)));
                if (e < -14) v[i] = float(sign * (ulps(random) + 0.5) * 0x1p-24);
                break;
            case 2: v[i] = specials[random() % std::size(specials)]; break;
            default: v[i] = float(sign * std::ldexp(mantissa(random), -14 - int(random() % 12))); break;  // subnormal range
        }
    }
    return v;
}

}  // namespace

TEST_CASE("half storage rounds to nearest even halves, keeps them and loads them back exactly", "[kernels]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    struct Case {
        Shape shape;
        uint32_t c0, cn;
    };
    for (const Case c : {Case{{3, 5, 3, 3}, 1, 3}, Case{{2, 4, 4, 4}, 0, 4}, Case{{1, 1, 1, 7}, 0, 1}, Case{{4, 6, 5, 1}, 3, 3}}) {
        INFO(toString(c.shape) << " channels " << c.c0 << "+" << c.cn);
        const Shape s = c.shape;
        const uint64_t plane = uint64_t{s.h} * s.w, row = c.cn * plane, pairs = kernels::packedLength(row);
        const auto x = awkwardValues(s.elements(), random);
        Tensor tx = e.tensor(s, Category::Other, "x"), packed = e.tensor({s.n, 1, 1, uint32_t(pairs)}, Category::Other, "packed");
        Tensor ty = e.tensor(s, Category::Other, "y");
        e.upload(tx, x);
        const std::vector<float> sentinel(s.elements(), 7.0f);
        e.upload(ty, sentinel);
        Recorder recorder(e.device());
        kernels::storeHalf({e.pipelines(), recorder}, tx.view().channels(c.c0, c.cn), packed);
        kernels::loadHalf({e.pipelines(), recorder}, packed, ty.view().channels(c.c0, c.cn));
        recorder.run();
        const auto rounded = e.download(tx), loaded = e.download(ty), bits = e.download(packed);
        std::size_t wrongRounded = 0, wrongLoaded = 0, touched = 0, badPadding = 0;
        for (uint32_t n = 0; n < s.n; ++n)
            for (uint64_t i = 0; i < uint64_t{s.c} * plane; ++i) {
                const std::size_t at = n * s.c * plane + i;
                const bool inside = i >= c.c0 * plane && i < (c.c0 + c.cn) * plane;
                if (!inside) {
                    touched += std::memcmp(&rounded[at], &x[at], 4) != 0 || loaded[at] != 7.0f;
                    continue;
                }
                const double expected = ref::nearestHalf(x[at]);
                wrongRounded += !ref::sameHalf(rounded[at], expected);
                wrongLoaded += !ref::sameHalf(loaded[at], expected);
            }
        if (row % 2)
            for (uint32_t n = 0; n < s.n; ++n) {
                uint32_t last;
                std::memcpy(&last, &bits[n * pairs + pairs - 1], 4);
                badPadding += (last >> 16) != 0;
            }
        CHECK(wrongRounded == 0);
        CHECK(wrongLoaded == 0);
        CHECK(touched == 0);
        CHECK(badPadding == 0);
    }
}

TEST_CASE("half storage packs IEEE binary16, the first of a pair in the low bits", "[kernels]") {
    Engine& e = test::engine();
    const std::vector<float> x = {1.0f, -2.0f, 65504.0f, 0x1p-24f, 0.333333343f, -0.0f};
    const uint32_t expected[] = {0xc0003c00u, 0x00017bffu, 0x80003555u};
    Tensor tx = e.tensor({1, 1, 1, 6}, Category::Other, "x"), packed = e.tensor({1, 1, 1, 3}, Category::Other, "packed");
    e.upload(tx, x);
    Recorder recorder(e.device());
    kernels::storeHalf({e.pipelines(), recorder}, tx, packed);
    recorder.run();
    const auto bits = e.download(packed);
    for (int i = 0; i < 3; ++i) {
        uint32_t word;
        std::memcpy(&word, &bits[i], 4);
        CHECK(word == expected[i]);
    }
}

TEST_CASE("half storage refuses a packed view of the wrong length", "[kernels]") {
    Engine& e = test::engine();
    Tensor tx = e.tensor({2, 3, 3, 3}, Category::Other, "x"), packed = e.tensor({2, 1, 1, 13}, Category::Other, "packed");
    Recorder recorder(e.device());
    CHECK_THROWS_WITH(kernels::storeHalf({e.pipelines(), recorder}, tx, packed), Catch::Contains("2x1x1x14"));
    CHECK(recorder.dispatches() == 0);
}
