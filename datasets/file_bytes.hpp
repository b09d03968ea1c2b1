// A whole file's bytes, gunzipped when it is gzip (zlib reads plain files unchanged).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace revnet::datasets {

std::vector<uint8_t> readFileBytes(const std::filesystem::path& file);

}  // namespace revnet::datasets
