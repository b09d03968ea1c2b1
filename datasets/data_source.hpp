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
// otherwise a directory. Throws DatasetError naming what is missing.
Split loadData(const std::string& source);

}  // namespace revnet::datasets
