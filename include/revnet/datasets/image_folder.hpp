// A folder of images in ImageNet's layout: train/<class>/* and val/<class>/*. Class ids follow
// the sorted names of train's class folders; val's folders must be among them. The JPEG and PNG
// files (by extension, any case) are listed, not read: the datasets are streamed
// (image_stream.hpp) at the model's input size. A folder without images, an empty class folder,
// or a set none of whose files decodes (tried in order until one does) is an error.
#pragma once

#include "revnet/datasets/dataset.hpp"

#include <filesystem>

namespace revnet::datasets {

// Whether `directory` looks like an image folder (it has a train subfolder).
bool isImageFolder(const std::filesystem::path& directory);

Split readImageFolder(const std::filesystem::path& directory, const ImageSize& size);

}  // namespace revnet::datasets
