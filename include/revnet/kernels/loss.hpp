// Softmax cross-entropy over a batch of logits (N x K) with uint32 labels (a tensor of N
// elements whose bits are the labels). metrics = [sum of losses, correct top-1 count], written or
// accumulated over batches; dlogits = gradScale * (softmax - onehot). A label >= classes
// (kIgnoredLabel) marks a padding sample that counts for nothing.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"

namespace revnet::kernels {

constexpr uint32_t kIgnoredLabel = 0xFFFFFFFFu;

void softmaxCrossEntropy(const Recording& rec, uint32_t batch, uint32_t classes,
                         const TensorView& logits, const TensorView& labels, const TensorView& dlogits,
                         const TensorView& metrics, float gradScale, bool accumulate);

}  // namespace revnet::kernels
