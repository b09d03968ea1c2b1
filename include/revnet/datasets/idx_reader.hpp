// MNIST / Fashion-MNIST in IDX format (http://yann.lecun.com/exdb/mnist/), plain or gzip: a
// big-endian header (magic 0x00000803 for images with count, rows, columns; 0x00000801 for
// labels with count), then the bytes.
#pragma once

#include "revnet/datasets/dataset.hpp"

#include <filesystem>

namespace revnet::datasets {

// The most data one IDX file may describe (16 GiB): a header past it is refused before reading.
constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 34;

// Reads an image file and its label file into one dataset; checks magic numbers, sizes against
// the headers, equal counts and labels below `classes`.
Dataset readIdx(const std::filesystem::path& images, const std::filesystem::path& labels, uint32_t classes,
                std::string name);

// train-images-idx3-ubyte[.gz] and friends in `directory`.
Split readIdxDirectory(const std::filesystem::path& directory, std::string name);

}  // namespace revnet::datasets
