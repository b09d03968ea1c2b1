// Elementwise kernels over tensor views: fill, copy, z = alpha x + beta y (add, subtract,
// scale-and-add), ReLU forward and backward, rounding to the fixed-point grid, and the RevNet
// additive coupling and its inverse.
// Each records one dispatch; views must share a shape and keep each sample contiguous.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"
#include "revnet/kernels/fixed_point.hpp"

namespace revnet::kernels {

void fill(const Recording& rec, const TensorView& y, float value);
void copy(const Recording& rec, const TensorView& x, const TensorView& y);
// z = alpha * x + beta * y; z may be x or y.
void axpby(const Recording& rec, float alpha, const TensorView& x, float beta,
           const TensorView& y, const TensorView& z);
inline void add(const Recording& rec, const TensorView& x, const TensorView& y, const TensorView& z) {
    axpby(rec, 1.0f, x, 1.0f, y, z);
}
inline void subtract(const Recording& rec, const TensorView& x, const TensorView& y, const TensorView& z) {
    axpby(rec, 1.0f, x, -1.0f, y, z);
}
// y += alpha * x
inline void scaleAdd(const Recording& rec, float alpha, const TensorView& x, const TensorView& y) {
    axpby(rec, alpha, x, 1.0f, y, y);
}

// y = max(x, 0); y may be x.
void reluForward(const Recording& rec, const TensorView& x, const TensorView& y);
// dx = dy * (x > 0); x may be the ReLU's input or output; dx may be dy.
void reluBackward(const Recording& rec, const TensorView& x, const TensorView& dy, const TensorView& dx);

// x rounded in place to the fixed-point grid (shaders/quantize.comp): where reversible units
// start adding to a tensor. A value past the grid's exact range sets the overflow flag.
void quantize(const Recording& rec, const TensorView& x, const FixedPoint& fixed);

// The additive coupling of a RevNet unit, in place on one half of the unit's activations:
// forward y = x + r (y1 = x1 + F(x2), y2 = x2 + G(y1)), inverse x = y - r.
inline void couplingForward(const Recording& rec, const TensorView& half, const TensorView& residual) {
    add(rec, half, residual, half);
}
inline void couplingInverse(const Recording& rec, const TensorView& half, const TensorView& residual) {
    subtract(rec, half, residual, half);
}

}  // namespace revnet::kernels
