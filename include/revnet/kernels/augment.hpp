// The input pipeline on the device: uint8 images (C x H x W bytes each, packed) to normalized
// float32 NCHW, with a random crop after zero padding and a random horizontal flip drawn per
// sample from Philox4x32-10 (seed, counter = (step, sample index)). The step is read from a
// device buffer the host rewrites every batch, so one recording serves every step.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"

#include <cstdint>

namespace revnet::kernels {

struct AugmentOptions {
    uint32_t pad = 0;   // crop window: shifts in [-pad, pad]; 0 = no crop
    bool flip = false;  // random horizontal flip
    uint64_t seed = 0;
    uint32_t firstSample = 0;  // sample index of image 0 in the counter (for batches split in parts)
};

// images: a tensor holding the batch's bytes from byte `imageByteOffset`; normalization: [mean[C],
// std[C]] in units of the [0, 1] pixel scale; steps[stepIndex]: the step counter (uint32 bits);
// out: N x C x H x W, dense.
void augmentImages(const Recording& rec, const TensorView& images, uint32_t imageByteOffset,
                   const TensorView& normalization, const TensorView& steps, uint32_t stepIndex,
                   const TensorView& out, const AugmentOptions& options);

// What the device computes for sample n of a step: the crop shift (dy, dx) and the flip.
struct AugmentDraw {
    int dy, dx;
    bool flip;
};
AugmentDraw augmentDraw(const AugmentOptions& options, uint32_t step, uint32_t sample);

}  // namespace revnet::kernels
