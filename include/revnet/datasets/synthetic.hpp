// Synthetic labelled images of any shape and class count, learnable: each class draws a bright
// square at its own place on a noisy background, so the label is a function of the image.
#pragma once

#include "revnet/datasets/dataset.hpp"

namespace revnet::datasets {

Dataset synthetic(std::size_t count, uint32_t channels, uint32_t height, uint32_t width, uint32_t classes,
                  uint64_t seed, std::string name = "synthetic");

}  // namespace revnet::datasets
