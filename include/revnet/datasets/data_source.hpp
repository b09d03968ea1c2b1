// Which data a run trains on: "fashion-mnist" (Debian's dataset-fashion-mnist, the default),
// a directory of IDX or CIFAR files (the format found from the file names), or synthetic data.
#pragma once

#include "revnet/datasets/dataset.hpp"
#include "revnet/datasets/image_folder.hpp"

#include <filesystem>
#include <optional>

namespace revnet::datasets {

// Where Debian's dataset-fashion-mnist package puts its files.
constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

// `source`: empty or "fashion-mnist" for the default; "synthetic" (or "synthetic:CxHxW:K[:N]");
// otherwise a directory: CIFAR, IDX, or an image folder, whose images are brought to `imageSize`.
// Throws DatasetError naming what is missing, or when the test set does not fit a model of the
// training set (checkCompatible).
Split loadData(const std::string& source, const ImageSize& imageSize = {});

// The shape of synthetic data: "synthetic" (3x32x32, 10 classes, 5000 training images) or
// "synthetic:CxHxW:K[:N]", with C <= 64, H and W <= 1024, CxHxW <= 2^20, 1 <= K <= 100000 and
// 1 <= N <= 10^6 training images, all of them within 8 GiB; nullopt for anything else. The test
// set has a fifth as many images (at least one).
struct SyntheticSpec {
    uint32_t channels = 3, height = 32, width = 32, classes = 10, images = 5000;
    uint32_t testImages() const { return images / 5 > 0 ? images / 5 : 1; }
};
std::optional<SyntheticSpec> parseSynthetic(const std::string& source);

}  // namespace revnet::datasets
