#include "revnet/kernels/loss.hpp"

#include "kernels/dispatch.hpp"

namespace revnet::kernels {

void softmaxCrossEntropy(const Recording& rec, uint32_t batch, uint32_t classes,
                         const TensorView& logits, const TensorView& labels, const TensorView& dlogits,
                         const TensorView& metrics, float gradScale, bool accumulate) {
    constexpr ShaderName name{"softmax_cross_entropy"};
    if (classes == 0) throw std::invalid_argument("softmax_cross_entropy: no classes");
    struct Push {
        uint32_t N, K, logitsOffset, labelsOffset, dOffset, metricsOffset;
        float gradScale;
    } push{batch, classes, denseOffset(logits, uint64_t{batch} * classes, name, "logits"),
           denseOffset(labels, batch, name, "labels"), denseOffset(dlogits, uint64_t{batch} * classes, name, "dlogits"),
           denseOffset(metrics, 2, name, "metrics"), gradScale};
    // One workgroup: the batch is small, and one group keeps the final sum in a fixed order.
    const uint32_t group = powerOfTwoAtMost(batch, 64);
    rec.recorder.dispatch(rec.pipelines.get(name, {{"WORKGROUP_X", group}, {"ACCUMULATE", accumulate ? 1u : 0u}}), {logits, labels, dlogits, metrics},
                      push, {1, 1, 1});
}

}  // namespace revnet::kernels
