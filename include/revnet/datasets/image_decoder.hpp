// JPEG (libjpeg-turbo's TurboJPEG) and PNG (libpng) files decoded to 8-bit RGB. Grey, CMYK and
// YCCK JPEGs and grey, palette and alpha PNGs all come out as RGB; alpha is composited on black
// (in linear light, as libpng does).
// A JPEG is decoded at the smallest of libjpeg-turbo's scales (1/8 ... 1) that keeps its shorter
// side at least `shortSide`, which makes decoding large photos for small inputs cheap.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace revnet::datasets {

struct RgbImage {
    uint32_t height = 0, width = 0;
    std::vector<uint8_t> pixels;  // height x width x (red, green, blue)
};

// Images of more pixels than this (after JPEG scaling) are refused: a hostile header cannot make
// the decoder allocate gigabytes.
constexpr uint64_t kMaxImagePixels = uint64_t(1) << 26;

// Throws DatasetError naming `name` when the bytes are neither a whole JPEG nor a whole PNG.
// `shortSide` 0 decodes a JPEG at full size.
RgbImage decodeImage(std::span<const uint8_t> bytes, const std::string& name, uint32_t shortSide = 0);

// No photo needs more; a bigger file is someone's mistake.
constexpr uint64_t kMaxImageFileBytes = uint64_t(256) << 20;

// Reads a file (up to kMaxImageFileBytes) and decodes it; DatasetError naming it when it cannot.
RgbImage readImage(const std::filesystem::path& file, uint32_t shortSide = 0);

}  // namespace revnet::datasets
