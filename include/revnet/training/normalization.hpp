// What the device subtracts from and divides the pixels (scaled to [0, 1]) by, per channel:
// `--normalize` as "imagenet" (ImageNet's statistics; for one channel, their BT.601 luma
// weighting), "data" (measured on the training set; for an image folder, on up to 512 of its
// files spread over the set, centre-cropped), or "M,M,M/S,S,S" (one mean and deviation per
// channel). Empty: "imagenet" for image folders, "data" for the rest.
#pragma once

#include "revnet/datasets/dataset.hpp"

#include <string>
#include <vector>

namespace revnet::training {

// The means, then the deviations. std::invalid_argument naming the option's problem.
std::vector<float> normalizationOf(const std::string& spec, const datasets::Dataset& train);

}  // namespace revnet::training
