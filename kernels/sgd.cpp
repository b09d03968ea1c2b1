#include "kernels/sgd.hpp"

#include "kernels/dispatch.hpp"

namespace revnet::kernels {

void sgdStep(Pipelines& pipelines, Recorder& recorder, const TensorView& weights, const TensorView& grads,
             const TensorView& velocity, const TensorView& hyper, uint32_t lrIndex, const SgdOptions& options) {
    const char* name = "sgd";
    const uint64_t count = weights.shape().elements();
    if (lrIndex >= hyper.shape().elements()) throw std::invalid_argument("sgd: learning-rate index past the buffer");
    struct Push {
        uint32_t count, wOffset, gOffset, vOffset, lrIndex;
        float momentum, weightDecay;
    } push{uint32_t(count), denseOffset(weights, count, name, "weights"), denseOffset(grads, count, name, "gradients"),
           denseOffset(velocity, count, name, "momentum"), uint32_t(hyper.offset()) + lrIndex, options.momentum,
           options.weightDecay};
    const bool vec4 = count % 4 == 0 && push.wOffset % 4 == 0 && push.gOffset % 4 == 0 && push.vOffset % 4 == 0;
    const uint32_t group = workgroupAtMost(pipelines.device(), 256);
    const Kernel& kernel = pipelines.get(name, {{0, group}, {1, options.nesterov ? 1u : 0u}, {2, vec4 ? 1u : 0u}});
    recorder.dispatch(kernel, {weights, grads, velocity, hyper}, push,
                      rowsGrid(pipelines.device(), 1, vec4 ? count / 4 : count, group));
}

}  // namespace revnet::kernels
