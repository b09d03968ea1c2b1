#include "revnet/kernels/sgd.hpp"

#include "kernels/dispatch.hpp"

namespace revnet::kernels {

namespace {

void sgdChunk(const Recording& rec, const TensorView& weights, const TensorView& grads,
              const TensorView& velocity, const TensorView& hyper, uint32_t lrIndex, const SgdOptions& options) {
    constexpr ShaderName name{"sgd"};
    const uint64_t count = weights.shape().elements();
    struct Push {
        uint32_t count, wOffset, gOffset, vOffset, lrIndex;
        float momentum, weightDecay;
    } push{uint32_t(count), denseOffset(weights, count, name, "weights"), denseOffset(grads, count, name, "gradients"),
           denseOffset(velocity, count, name, "momentum"), uint32_t(hyper.offset()) + lrIndex, options.momentum,
           options.weightDecay};
    const bool vec4 = count % 4 == 0 && push.wOffset % 4 == 0 && push.gOffset % 4 == 0 && push.vOffset % 4 == 0;
    const uint32_t group = workgroupAtMost(rec.device(), 256);
    const Kernel& kernel = rec.pipelines.get(name, {{"WORKGROUP_X", group}, {"NESTEROV", options.nesterov ? 1u : 0u}, {"VEC4", vec4 ? 1u : 0u}});
    rec.recorder.dispatch(kernel, {weights, grads, velocity, hyper}, push,
                      rowsGrid(rec.device(), 1, vec4 ? count / 4 : count, group));
}

}  // namespace

void sgdStep(const Recording& rec, const TensorView& weights, const TensorView& grads,
             const TensorView& velocity, const TensorView& hyper, uint32_t lrIndex, const SgdOptions& options) {
    if (lrIndex >= hyper.shape().elements()) throw std::invalid_argument("sgd: learning-rate index past the buffer");
    // Parameters past one binding (RevNet-104's 181 MB against lavapipe's 128 MiB range) go in
    // ranges that fit, a multiple of 4 elements each so that the vec4 path stays open.
    const uint64_t range = rec.device().info().limits.maxStorageBufferRange;
    const uint64_t count = weights.shape().elements();
    const uint64_t chunk = std::max<uint64_t>((range - std::min(range, kMaxAlignment)) / sizeof(float) / 4 * 4, 4);
    for (uint64_t first = 0; first < count; first += chunk) {
        const uint64_t n = std::min(chunk, count - first);
        sgdChunk(rec, weights.range(first, n), grads.range(first, n), velocity.range(first, n), hyper,
                 lrIndex, options);
    }
}

}  // namespace revnet::kernels
