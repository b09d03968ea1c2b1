// Elementwise kernels over tensor views: fill, copy, z = alpha x + beta y (add, subtract,
// scale-and-add), ReLU forward and backward, rounding to the fixed-point grid, and the RevNet
// additive coupling and its inverse.
// Each records one dispatch; views must share a shape and keep each sample contiguous.
#pragma once

#include "revnet/engine/command_recorder.hpp"
#include "revnet/engine/pipelines.hpp"
#include "revnet/engine/tensor.hpp"
#include "revnet/kernels/fixed_point.hpp"

namespace revnet::kernels {

void fill(Pipelines& pipelines, Recorder& recorder, const TensorView& y, float value);
void copy(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const TensorView& y);
// z = alpha * x + beta * y; z may be x or y.
void axpby(Pipelines& pipelines, Recorder& recorder, float alpha, const TensorView& x, float beta,
           const TensorView& y, const TensorView& z);
inline void add(Pipelines& p, Recorder& r, const TensorView& x, const TensorView& y, const TensorView& z) {
    axpby(p, r, 1.0f, x, 1.0f, y, z);
}
inline void subtract(Pipelines& p, Recorder& r, const TensorView& x, const TensorView& y, const TensorView& z) {
    axpby(p, r, 1.0f, x, -1.0f, y, z);
}
// y += alpha * x
inline void scaleAdd(Pipelines& p, Recorder& r, float alpha, const TensorView& x, const TensorView& y) {
    axpby(p, r, alpha, x, 1.0f, y, y);
}

// y = max(x, 0); y may be x.
void reluForward(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const TensorView& y);
// dx = dy * (x > 0); x may be the ReLU's input or output; dx may be dy.
void reluBackward(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const TensorView& dy,
                  const TensorView& dx);

// x rounded in place to the fixed-point grid (shaders/quantize.comp): where reversible units
// start adding to a tensor. A value past the grid's exact range sets the overflow flag.
void quantize(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const FixedPoint& fixed);

// The additive coupling of a RevNet unit, in place on one half of the unit's activations:
// forward y = x + r (y1 = x1 + F(x2), y2 = x2 + G(y1)), inverse x = y - r.
inline void couplingForward(Pipelines& p, Recorder& r, const TensorView& half, const TensorView& residual) {
    add(p, r, half, residual, half);
}
inline void couplingInverse(Pipelines& p, Recorder& r, const TensorView& half, const TensorView& residual) {
    subtract(p, r, half, residual, half);
}

}  // namespace revnet::kernels
