// A folder of images in ImageNet's layout: train/<class>/* and val/<class>/*. Class ids follow
// the sorted names of train's class folders; val's folders must be among them. JPEG and PNG
// files (by extension, any case) are decoded on a pool of threads, resized and centre-cropped to
// the model's input (image_resize.hpp) and held in memory. A file that cannot be decoded is
// left out and listed in the dataset's `skipped`; a folder without images, an empty class
// folder, or more images than half the machine's memory holds is an error before any decoding.
#pragma once

#include "datasets/dataset.hpp"

#include <filesystem>

namespace revnet::datasets {

// Whether `directory` looks like an image folder (it has a train subfolder).
bool isImageFolder(const std::filesystem::path& directory);

// `threads` 0: one per hardware thread.
Split readImageFolder(const std::filesystem::path& directory, const ImageSize& size, unsigned threads = 0);

}  // namespace revnet::datasets
