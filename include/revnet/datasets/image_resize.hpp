// An RGB image brought to a model's input. Evaluation (ImageNet's resize to 256 and centre crop
// of 224, at any size): the shorter side scaled to 8/7 of the input's and the centre cropped.
// Training (torchvision's RandomResizedCrop): a random box of 8% to 100% of the image's area at an
// aspect ratio from 3/4 to 4/3, scaled to the input, mirrored half the time. Each output pixel is
// the area-weighted mean of the source pixels it covers; one channel is the luma (ITU-R BT.601
// weights) of the three.
#pragma once

#include "revnet/datasets/image_decoder.hpp"

#include <random>

namespace revnet::datasets {

// A region of a source image in source pixels (fractional).
struct CropBox {
    double top, left, height, width;
};

// Evaluation's box: the centre of the image at the input's aspect ratio, of the size that makes
// its shorter side 7/8 of the image's.
CropBox centerBox(uint32_t imageHeight, uint32_t imageWidth, uint32_t height, uint32_t width);

// Training's box: area uniform in [0.08, 1] of the image's, aspect ratio (width / height)
// log-uniform in [3/4, 4/3], position uniform; after 10 draws that do not fit inside the image,
// the whole image's centre at the nearest ratio in that range.
CropBox randomResizedBox(uint32_t imageHeight, uint32_t imageWidth, std::mt19937_64& random);

// Writes channels x height x width bytes (planes of red, green, blue, or one of luma) to `out`:
// the box scaled to height x width, mirrored left to right when `mirror`.
void resizeBox(const RgbImage& image, const CropBox& box, uint32_t channels, uint32_t height, uint32_t width,
               bool mirror, uint8_t* out);

// resizeBox of centerBox.
void resizeCenterCrop(const RgbImage& image, uint32_t channels, uint32_t height, uint32_t width, uint8_t* out);

// The shorter side resizeCenterCrop scales an image to for this output.
uint32_t resizedShortSide(uint32_t height, uint32_t width);

}  // namespace revnet::datasets
