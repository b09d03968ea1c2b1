#include "revnet/kernels/augment.hpp"

#include "kernels/dispatch.hpp"
#include "revnet/kernels/philox.hpp"

namespace revnet::kernels {

void augmentImages(const Recording& rec, const TensorView& images, uint32_t imageByteOffset,
                   const TensorView& normalization, const TensorView& steps, uint32_t stepIndex,
                   const TensorView& out, const AugmentOptions& options) {
    constexpr ShaderName name{"augment_images"};
    const Shape& s = out.shape();
    const uint64_t bytes = s.elements();
    if (images.offset() * 4 + imageByteOffset + bytes > images.binding().bytes)
        throw std::invalid_argument("augment_images: the batch's bytes run past the image buffer");
    if (stepIndex >= steps.shape().elements()) throw std::invalid_argument("augment_images: step index past the buffer");
    if (2 * uint64_t{options.pad} + 1 > s.h || 2 * uint64_t{options.pad} + 1 > s.w)
        throw std::invalid_argument("augment_images: crop padding larger than the image");
    struct Push {
        uint32_t seedLow, seedHigh;  // the shader's uint seed[2]
        uint32_t N, C, H, W;
        uint32_t imageBytes, normalizationOffset, stepIndex, outOffset;
        uint32_t first, pad, flip;
    } push{uint32_t(options.seed), uint32_t(options.seed >> 32), s.n, s.c, s.h, s.w, uint32_t(images.offset() * 4 + imageByteOffset),
           denseOffset(normalization, 2 * uint64_t{s.c}, name, "normalization"), uint32_t(steps.offset()) + stepIndex,
           denseOffset(out, s.elements(), name, "output"), options.firstSample, options.pad, options.flip ? 1u : 0u};
    const uint32_t group = powerOfTwoAtMost(s.h, 64);
    const ChannelsGrid grid = channelsGrid(rec.device(), s.n, s.c, s.h, group);
    rec.recorder.dispatch(rec.pipelines.get(name, grid.specialization()), {images, normalization, steps, out}, push, grid.groups);
}

AugmentDraw augmentDraw(const AugmentOptions& options, uint32_t step, uint32_t sample) {
    const auto r = philox({step, options.firstSample + sample, 0, 0}, {uint32_t(options.seed), uint32_t(options.seed >> 32)});
    const uint32_t window = 2 * options.pad + 1;
    return {int(r[0] % window) - int(options.pad), int(r[1] % window) - int(options.pad), options.flip && (r[2] & 1u)};
}

}  // namespace revnet::kernels
