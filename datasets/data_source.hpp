// Which data a run trains on: "fashion-mnist" (Debian's dataset-fashion-mnist, the default),
// a directory of IDX or CIFAR files (the format found from the file names), or synthetic data.
#pragma once

#include "datasets/dataset.hpp"

#include <filesystem>
#include <optional>

namespace revnet::datasets {

// Where Debian's dataset-fashion-mnist package puts its files.
constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

// `source`: empty or "fashion-mnist" for the default; "synthetic" (or "synthetic:CxHxW:K");
// otherwise a directory. Throws DatasetError naming what is missing, or when the test set does
// not fit a model of the training set (checkCompatible).
Split loadData(const std::string& source);

// The shape of synthetic data: "synthetic" (3x32x32, 10 classes) or "synthetic:CxHxW:K", with
// C <= 64, H and W <= 1024, CxHxW <= 2^20 (5000 training images stay under 5 GiB) and
// 1 <= K <= 100000; nullopt for anything else.
struct SyntheticSpec {
    uint32_t channels = 3, height = 32, width = 32, classes = 10;
};
std::optional<SyntheticSpec> parseSynthetic(const std::string& source);

}  // namespace revnet::datasets
