// Half-precision storage (--precision fp16, docs/NUMERICS.md): a tensor kept between the forward
// and backward passes as IEEE binary16, two halves to a 32-bit element of a packed tensor;
// arithmetic stays float32. storeHalf rounds the float view in place as it stores it, so what the
// forward pass computes with next equals what the backward pass loads: gradients stay consistent.
// Rounding is to nearest, ties to even, the same on every device (shaders/half.glsl); no 16-bit
// device feature is needed.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"

namespace revnet::kernels {

// The packed length of `floats` values: ceil(floats / 2).
inline uint64_t packedLength(uint64_t floats) { return (floats + 1) / 2; }
// The view of `packed` that holds a tensor of `shape` (N x 1 x 1 x packedLength(C * H * W)).
inline TensorView packedView(const Tensor& packed, const Shape& shape) {
    return packed.view({shape.n, 1, 1, uint32_t(packedLength(uint64_t{shape.c} * shape.h * shape.w))});
}

// x (each sample contiguous) rounded to halves in place and stored in `packed`, a view of
// shape N x 1 x 1 x packedLength(C * H * W).
void storeHalf(const Recording& rec, const TensorView& x, const TensorView& packed);
// y = the halves in `packed` (as storeHalf left them), as floats.
void loadHalf(const Recording& rec, const TensorView& packed, const TensorView& y);

}  // namespace revnet::kernels
