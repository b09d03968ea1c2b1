// The classifier head's fully connected layer with bias: x is N x I (a dense N x C x 1 x 1 view
// is fine), w is O x I, b is O, y is N x O.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"

namespace revnet::kernels {

struct LinearShape {
    uint32_t batch, in, out;
};

void linearForward(const Recording& rec, const LinearShape& shape, const TensorView& x,
                   const TensorView& w, const TensorView& b, const TensorView& y);
void linearGradInput(const Recording& rec, const LinearShape& shape, const TensorView& dy,
                     const TensorView& w, const TensorView& dx);
// Overwrites dw and db with the batch sums.
void linearGradParams(const Recording& rec, const LinearShape& shape, const TensorView& x,
                      const TensorView& dy, const TensorView& dw, const TensorView& db);

}  // namespace revnet::kernels
