// Pooling over NCHW views: the 2x2 stride-2 average pool with zero channel padding that RevNet
// and ResNet use as their downsampling shortcut, and the global average pool before the head.
#pragma once

#include "engine/command_recorder.hpp"
#include "engine/pipelines.hpp"
#include "engine/tensor.hpp"

namespace revnet::kernels {

// y (N x Cout x H/2 x W/2) = 2x2 mean of x (N x C x H x W) in channels [padBefore, padBefore + C),
// zero in the others.
void avgPool2x2Forward(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const TensorView& y,
                       uint32_t padBefore);
// dx = the pooling's gradient from dy (written, or added with accumulate).
void avgPool2x2Backward(Pipelines& pipelines, Recorder& recorder, const TensorView& dy, const TensorView& dx,
                        uint32_t padBefore, bool accumulate);

// y (N x C, any view of N*C contiguous floats) = mean of each channel plane of x.
void globalAvgPoolForward(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const TensorView& y);
void globalAvgPoolBackward(Pipelines& pipelines, Recorder& recorder, const TensorView& dy, const TensorView& dx,
                           bool accumulate);

}  // namespace revnet::kernels
