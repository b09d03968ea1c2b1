#include "revnet/datasets/image_decoder.hpp"

#include "revnet/datasets/dataset.hpp"
#include "revnet/datasets/file_bytes.hpp"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <memory>

namespace revnet::datasets {

namespace {

bool isJpeg(std::span<const uint8_t> b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
bool isPng(std::span<const uint8_t> b) { return b.size() >= 8 && png_sig_cmp(b.data(), 0, 8) == 0; }

void checkSize(uint64_t height, uint64_t width, const std::string& name) {
    if (height == 0 || width == 0 || height * width > kMaxImagePixels)
        throw DatasetError(name, 0, "an image of " + std::to_string(width) + "x" + std::to_string(height) +
                                        " pixels (more than 2^26, or none) is refused");
}

RgbImage decodeJpeg(std::span<const uint8_t> bytes, const std::string& name, uint32_t shortSide) {
    const std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitDecompress(), tjDestroy);
    if (!handle) throw DatasetError(name, 0, "cannot start the JPEG decoder");
    auto fail = [&](const char* what) {
        return DatasetError(name, 0, std::string(what) + ": " + tjGetErrorStr2(handle.get()));
    };
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &width, &height,
                            &subsampling, &colorspace) != 0)
        throw fail("not a readable JPEG");
    // The smallest scale whose shorter side still reaches shortSide; factors come largest first.
    int count = 0;
    const tjscalingfactor* factors = tjGetScalingFactors(&count);
    tjscalingfactor scale{1, 1};
    for (int i = 0; i < count && shortSide > 0; ++i) {
        const tjscalingfactor f = factors[i];
        if (f.num > f.denom) continue;
        if (uint32_t(std::min(TJSCALED(width, f), TJSCALED(height, f))) >= shortSide &&
            f.num * scale.denom < scale.num * f.denom)
            scale = f;
    }
    RgbImage image{uint32_t(TJSCALED(height, scale)), uint32_t(TJSCALED(width, scale)), {}};
    checkSize(image.height, image.width, name);
    // CMYK and YCCK JPEGs decode only to CMYK; Adobe's, nearly all of them, store it inverted.
    const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    const int format = cmyk ? TJPF_CMYK : TJPF_RGB, channels = cmyk ? 4 : 3;
    std::vector<uint8_t> decoded(std::size_t(image.height) * image.width * channels);
    if (tjDecompress2(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), decoded.data(),
                      int(image.width), 0, int(image.height), format, TJFLAG_ACCURATEDCT) != 0 &&
        tjGetErrorCode(handle.get()) == TJERR_FATAL)
        throw fail("corrupt JPEG");
    if (!cmyk) {
        image.pixels = std::move(decoded);
        return image;
    }
    image.pixels.resize(std::size_t(image.height) * image.width * 3);
    for (std::size_t p = 0; p < std::size_t(image.height) * image.width; ++p) {
        const unsigned k = decoded[4 * p + 3];
        for (int c = 0; c < 3; ++c) image.pixels[3 * p + c] = uint8_t((decoded[4 * p + c] * k + 127) / 255);
    }
    return image;
}

RgbImage decodePng(std::span<const uint8_t> bytes, const std::string& name) {
    png_image png{};
    png.version = PNG_IMAGE_VERSION;
    // The simplified API keeps its own error state (no longjmp reaches this code) and frees its
    // memory on failure; png_image_free covers the paths that stop early.
    const std::unique_ptr<png_image, void (*)(png_image*)> guard(&png, [](png_image* p) { png_image_free(p); });
    if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()))
        throw DatasetError(name, 0, std::string("not a readable PNG: ") + png.message);
    checkSize(png.height, png.width, name);
    png.format = PNG_FORMAT_RGB;
    RgbImage image{png.height, png.width, std::vector<uint8_t>(PNG_IMAGE_SIZE(png))};
    const png_color black{0, 0, 0};
    if (!png_image_finish_read(&png, &black, image.pixels.data(), 0, nullptr))
        throw DatasetError(name, 0, std::string("corrupt PNG: ") + png.message);
    return image;
}

}  // namespace

RgbImage decodeImage(std::span<const uint8_t> bytes, const std::string& name, uint32_t shortSide) {
    if (isJpeg(bytes)) return decodeJpeg(bytes, name, shortSide);
    if (isPng(bytes)) return decodePng(bytes, name);
    throw DatasetError(name, 0, "neither a JPEG nor a PNG file");
}

RgbImage readImage(const std::filesystem::path& file, uint32_t shortSide) {
    return decodeImage(readFileBytes(file, kMaxImageFileBytes), file.string(), shortSide);
}

}  // namespace revnet::datasets
