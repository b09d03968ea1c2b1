#include "revnet/kernels/half_storage.hpp"

#include "kernels/dispatch.hpp"

#include <stdexcept>
#include <string>

namespace revnet::kernels {

namespace {

constexpr uint32_t kWorkgroupSize = 256;

// The push constants of store_half.comp and load_half.comp: the float view and the packed one.
struct Push {
    uint32_t rows, rowLength;
    uint32_t firstOffset, firstStride, secondOffset, secondStride;
};

struct Pair {
    uint32_t offset, stride;
};

Pair rowsOf(const TensorView& v, std::string_view kernel) {
    if (!v.samplesContiguous() || v.offset() + uint64_t{v.shape().n} * v.strides()[0] > (uint64_t{1} << 32))
        throw std::invalid_argument(std::string(kernel) + ": a view must keep each sample contiguous, below 2^32");
    return {uint32_t(v.offset()), uint32_t(v.strides()[0])};
}

void check(const TensorView& floats, const TensorView& packed, std::string_view kernel) {
    const Shape& s = floats.shape();
    const Shape expected{s.n, 1, 1, uint32_t(packedLength(uint64_t{s.c} * s.h * s.w))};
    if (packed.shape() != expected)
        throw std::invalid_argument(std::string(kernel) + ": packed view " + toString(packed.shape()) + " for " +
                                    toString(s) + ", expected " + toString(expected));
}

// One dispatch of `shader` over the samples of a chunk; `first` is the view bound to binding 0.
void dispatchChunk(const Recording& rec, ShaderName shader, const TensorView& floats,
                   const TensorView& first, const TensorView& second) {
    const Shape& s = floats.shape();
    const uint32_t rowLength = s.c * s.h * s.w;
    const Pair a = rowsOf(first, shader), b = rowsOf(second, shader);
    const Push push{s.n, rowLength, a.offset, a.stride, b.offset, b.stride};
    const uint32_t size = workgroupAtMost(rec.device(), kWorkgroupSize);
    rec.recorder.dispatch(rec.pipelines.get(shader, {{"WORKGROUP_X", size}}), {first, second}, push,
                      rowsGrid(rec.device(), s.n, packedLength(rowLength), size));
}

}  // namespace

void storeHalf(const Recording& rec, const TensorView& x, const TensorView& packed) {
    check(x, packed, "store_half");
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, packed}, "store_half"),
                   [&](uint32_t first, uint32_t count) {
                       const TensorView xs = x.batch(first, count);
                       dispatchChunk(rec, "store_half", xs, xs, packed.batch(first, count));
                   });
}

void loadHalf(const Recording& rec, const TensorView& packed, const TensorView& y) {
    check(y, packed, "load_half");
    forBatchChunks(y.shape().n, samplesPerDispatch(rec.device(), {packed, y}, "load_half"),
                   [&](uint32_t first, uint32_t count) {
                       const TensorView ys = y.batch(first, count);
                       dispatchChunk(rec, "load_half", ys, packed.batch(first, count), ys);
                   });
}

}  // namespace revnet::kernels
