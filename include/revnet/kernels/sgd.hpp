// SGD with momentum and weight decay (PyTorch's formulation), one parameter tensor a call. The
// learning rate is read on the device from hyper[lrIndex], so a recorded step replays with
// whatever rate the host wrote there last; momentum, decay and Nesterov are fixed per recording.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"

namespace revnet::kernels {

struct SgdOptions {
    float momentum = 0.9f;
    float weightDecay = 0.0f;  // the caller passes its decay only for tensors that take it
    bool nesterov = false;
};

// weights, grads and velocity are flat views (1 x 1 x 1 x N) of any length: past the device's
// storage range they are updated in ranges that fit.
void sgdStep(const Recording& rec, const TensorView& weights, const TensorView& grads,
             const TensorView& velocity, const TensorView& hyper, uint32_t lrIndex, const SgdOptions& options);

}  // namespace revnet::kernels
