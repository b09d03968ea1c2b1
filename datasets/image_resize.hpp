// An RGB image brought to a model's input: its shorter side scaled to 8/7 of the input's
// (ImageNet's resize to 256 before a 224 crop, at any size), the centre cropped to height x
// width, each output pixel the area-weighted mean of the source pixels it covers. One channel is
// the luma (ITU-R BT.601 weights) of the three.
#pragma once

#include "datasets/image_decoder.hpp"

namespace revnet::datasets {

// Writes channels x height x width bytes (planes of red, green, blue, or one of luma) to `out`.
void resizeCenterCrop(const RgbImage& image, uint32_t channels, uint32_t height, uint32_t width, uint8_t* out);

// The shorter side resizeCenterCrop scales an image to for this output.
uint32_t resizedShortSide(uint32_t height, uint32_t width);

}  // namespace revnet::datasets
