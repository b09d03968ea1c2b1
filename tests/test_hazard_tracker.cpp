#include "revnet/engine/hazard_tracker.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace revnet;

namespace {
VkBuffer fakeBuffer(std::uintptr_t id) { return reinterpret_cast<VkBuffer>(id); }

// A dense NCHW tensor at byte `start` of a fake buffer, bound at 16-byte alignment.
TensorView tensorView(Shape shape, std::uintptr_t buffer = 1, VkDeviceSize start = 0) {
    return TensorView(fakeBuffer(buffer), start, 16, shape, denseStrides(shape));
}
}  // namespace

TEST_CASE("a view binds the aligned byte range that holds its elements", "[commands]") {
    const TensorView x = tensorView({3, 6, 5, 7}, 1, 256);  // 35 floats a channel, 210 a sample
    CHECK(x.binding().offset == 256);
    CHECK(x.binding().bytes == 3 * 210 * 4);
    CHECK(x.offset() == 0);
    const TensorView x2 = x.channels(3, 3);  // starts 105 floats (420 bytes) in: bound from 416
    CHECK(x2.binding().offset == 256 + 416);
    CHECK(x2.offset() == 1);
    CHECK(x2.binding().end() == x.binding().end());
    const TensorView x1 = x.channels(0, 3);
    CHECK(x1.binding().end() == 256 + (2 * 210 + 105) * 4);
    const TensorView last = x.batch(2, 1).channels(5, 1);
    CHECK(last.binding().end() == x.binding().end());
    CHECK(last.binding().bytes == 35 * 4 + last.offset() * 4);
    CHECK_THROWS_AS(x.channels(5, 2), std::out_of_range);
    CHECK_THROWS_AS(x.batch(3, 1), std::out_of_range);
}

TEST_CASE("regions overlap when their bytes do", "[commands]") {
    const TensorView x = tensorView({1, 8, 2, 2});
    CHECK_FALSE(overlaps(x.channels(0, 4).binding(), x.channels(4, 4).binding()));  // one sample: apart
    CHECK(overlaps(x.channels(0, 4).binding(), x.binding()));
    const TensorView batch = tensorView({2, 8, 2, 2});
    CHECK(overlaps(batch.channels(0, 4).binding(), batch.channels(4, 4).binding()));  // interleaved
    CHECK_FALSE(overlaps(x.binding(), tensorView({1, 8, 2, 2}, 2).binding()));           // other buffer
    CHECK_FALSE(overlaps(x.binding(), tensorView({1, 1, 1, 4}, 1, x.binding().end()).binding()));
    CHECK(overlaps(x.binding(), tensorView({1, 1, 1, 4}, 1, x.binding().end() - 4).binding()));
}

TEST_CASE("barriers go exactly where a hazard is", "[commands]") {
    const TensorView a = tensorView({1, 1, 1, 64}, 1), b = tensorView({1, 1, 1, 64}, 2),
                     c = tensorView({1, 1, 1, 64}, 3);
    HazardTracker t;
    std::vector<BufferRegion> none;
    std::vector<BufferRegion> ra{a.binding()}, rb{b.binding()}, rc{c.binding()};

    t.record(ra, rb);                   // b = f(a)
    CHECK_FALSE(t.needsBarrier(ra, rc));  // c = g(a): independent, both only read a
    t.record(ra, rc);
    CHECK(t.needsBarrier(rb, none));    // read after write
    CHECK(t.needsBarrier(none, rb));    // write after write
    CHECK(t.needsBarrier(none, ra));    // write after read
    t.barrier();
    CHECK_FALSE(t.needsBarrier(rb, ra));
}
