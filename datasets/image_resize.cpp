#include "revnet/datasets/image_resize.hpp"

#include <algorithm>
#include <cmath>

namespace revnet::datasets {

namespace {

// For one output axis: the source span [begin, end) (in source pixels, fractional) each output
// pixel covers, as weights over whole source pixels.
struct Tap {
    uint32_t first;
    std::vector<double> weights;  // of source pixels first, first + 1, ...
};

std::vector<Tap> taps(uint32_t sourceSize, double begin, double step, uint32_t outSize) {
    std::vector<Tap> out(outSize);
    for (uint32_t o = 0; o < outSize; ++o) {
        double from = begin + o * step, to = from + step;
        from = std::clamp(from, 0.0, double(sourceSize));
        to = std::clamp(to, from, double(sourceSize));
        uint32_t first = std::min(uint32_t(from), sourceSize - 1);
        Tap& t = out[o];
        t.first = first;
        if (to - from < 1e-9) {  // nothing covered (rounding at the border): the nearest pixel
            t.weights = {1.0};
            continue;
        }
        for (uint32_t s = first; s < sourceSize && s < to; ++s)
            t.weights.push_back((std::min(to, s + 1.0) - std::max(from, double(s))) / (to - from));
    }
    return out;
}

}  // namespace

uint32_t resizedShortSide(uint32_t height, uint32_t width) {
    return uint32_t(std::lround(std::min(height, width) * 8.0 / 7.0));
}

CropBox centerBox(uint32_t imageHeight, uint32_t imageWidth, uint32_t height, uint32_t width) {
    // Source pixels per output pixel, the same on both axes.
    const double step = double(std::min(imageHeight, imageWidth)) / resizedShortSide(height, width);
    return {(imageHeight - height * step) / 2, (imageWidth - width * step) / 2, height * step, width * step};
}

CropBox randomResizedBox(uint32_t imageHeight, uint32_t imageWidth, std::mt19937_64& random) {
    const double area = double(imageHeight) * imageWidth;
    std::uniform_real_distribution<double> scale(0.08, 1.0), logRatio(std::log(3.0 / 4.0), std::log(4.0 / 3.0)),
        unit(0.0, 1.0);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target = area * scale(random), ratio = std::exp(logRatio(random));
        const double w = std::sqrt(target * ratio), h = std::sqrt(target / ratio);
        if (w > imageWidth || h > imageHeight) continue;
        return {unit(random) * (imageHeight - h), unit(random) * (imageWidth - w), h, w};
    }
    const double ratio = std::clamp(double(imageWidth) / imageHeight, 3.0 / 4.0, 4.0 / 3.0);
    const double w = std::min(double(imageWidth), imageHeight * ratio), h = w / ratio;
    return {(imageHeight - h) / 2, (imageWidth - w) / 2, h, w};
}

void resizeBox(const RgbImage& image, const CropBox& box, uint32_t channels, uint32_t height, uint32_t width,
               bool mirror, uint8_t* out) {
    const auto rows = taps(image.height, box.top, box.height / height, height);
    const auto cols = taps(image.width, box.left, box.width / width, width);
    const std::size_t plane = std::size_t(height) * width;
    for (uint32_t y = 0; y < height; ++y)
        for (uint32_t x = 0; x < width; ++x) {
            const Tap& col = cols[mirror ? width - 1 - x : x];
            double rgb[3] = {0, 0, 0};
            for (std::size_t i = 0; i < rows[y].weights.size(); ++i)
                for (std::size_t j = 0; j < col.weights.size(); ++j) {
                    const double w = rows[y].weights[i] * col.weights[j];
                    const uint8_t* p = &image.pixels[(std::size_t(rows[y].first + i) * image.width + col.first + j) * 3];
                    for (int c = 0; c < 3; ++c) rgb[c] += w * p[c];
                }
            const std::size_t at = std::size_t(y) * width + x;
            if (channels == 1) {
                out[at] = uint8_t(std::lround(std::clamp(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2], 0.0, 255.0)));
                continue;
            }
            for (int c = 0; c < 3; ++c) out[c * plane + at] = uint8_t(std::lround(std::clamp(rgb[c], 0.0, 255.0)));
        }
}

void resizeCenterCrop(const RgbImage& image, uint32_t channels, uint32_t height, uint32_t width, uint8_t* out) {
    resizeBox(image, centerBox(image.height, image.width, height, width), channels, height, width, false, out);
}

}  // namespace revnet::datasets
