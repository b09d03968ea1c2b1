// Pooling over NCHW views: the 2x2 stride-2 average pool with zero channel padding that RevNet
// and ResNet use as their downsampling shortcut, the 3x3 stride-2 max pool of the ImageNet stem,
// and the global average pool before the head.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"

namespace revnet::kernels {

// y (N x Cout x H/2 x W/2) = 2x2 mean of x (N x C x H x W) in channels [padBefore, padBefore + C),
// zero in the others.
void avgPool2x2Forward(const Recording& rec, const TensorView& x, const TensorView& y, uint32_t padBefore);
// dx = the pooling's gradient from dy (written, or added with accumulate).
void avgPool2x2Backward(const Recording& rec, const TensorView& dy, const TensorView& dx,
                        uint32_t padBefore, bool accumulate);

// y (N x C x (H+1)/2 x (W+1)/2) = the max of each 3x3 window of x (N x C x H x W) at stride 2,
// padding 1 (padding never wins).
void maxPool3x3Forward(const Recording& rec, const TensorView& x, const TensorView& y);
// dx = the max pool's gradient from dy, to each window's first maximum in x (the forward's
// input); written, or added with accumulate.
void maxPool3x3Backward(const Recording& rec, const TensorView& x, const TensorView& dy,
                        const TensorView& dx, bool accumulate);
Shape maxPool3x3Output(const Shape& input);

// y (N x C, any view of N*C contiguous floats) = mean of each channel plane of x.
void globalAvgPoolForward(const Recording& rec, const TensorView& x, const TensorView& y);
void globalAvgPoolBackward(const Recording& rec, const TensorView& dy, const TensorView& dx, bool accumulate);

}  // namespace revnet::kernels
