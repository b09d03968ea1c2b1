#include "revnet/datasets/dataset.hpp"

#include <cmath>

namespace revnet::datasets {

DatasetError::DatasetError(const std::string& file, std::uint64_t offset, const std::string& problem)
    : std::runtime_error(file + ": at byte " + std::to_string(offset) + ": " + problem) {}

namespace {

std::string describe(const Dataset& d) {
    return d.name + " (" + (d.origin.empty() ? std::string("in memory") : d.origin) + ")";
}

std::string shapeOf(const Dataset& d) {
    return std::to_string(d.channels) + "x" + std::to_string(d.height) + "x" + std::to_string(d.width) + " images, " +
           std::to_string(d.classes) + " classes";
}

// Sums of x and x^2 per channel in double: exact enough for bytes over millions of pixels.
std::vector<std::pair<double, double>> channelSums(const Dataset& d) {
    std::vector<std::pair<double, double>> sums(d.channels);
    const std::size_t plane = std::size_t(d.height) * d.width;
    for (std::size_t i = 0; i < d.images.size(); ++i) {
        const double v = d.images[i] / 255.0;
        auto& s = sums[(i / plane) % d.channels];
        s.first += v;
        s.second += v * v;
    }
    return sums;
}

}  // namespace

Dataset makeDataset(const std::string& name, const ImageSize& size, uint32_t classes, std::size_t count,
                    const ImageSource& draw) {
    if (size.channels == 0 || size.height == 0 || size.width == 0 || classes == 0)
        throw std::invalid_argument(name + ": images need a shape and at least one class");
    Dataset d;
    d.name = name;
    d.channels = size.channels, d.height = size.height, d.width = size.width, d.classes = classes;
    const std::size_t bytes = d.imageBytes();
    d.images.resize(count * bytes);
    d.labels.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
        d.labels[i] = draw(i, std::span<uint8_t>(d.images).subspan(i * bytes, bytes));
        if (d.labels[i] >= classes)
            throw DatasetError(name, i * bytes, "image " + std::to_string(i) + " has label " +
                                                    std::to_string(d.labels[i]) + ", past the " +
                                                    std::to_string(classes) + " classes");
    }
    return d;
}

void checkCompatible(const Split& split) {
    const Dataset &train = split.train, &test = split.test;
    for (const Dataset* d : {&train, &test})
        if (d->size() == 0) throw DatasetError(d->origin, 0, d->name + " has no images");
    if (train.channels != test.channels || train.height != test.height || train.width != test.width ||
        train.classes != test.classes)
        throw DatasetError(test.origin, 0, "the test set " + describe(test) + " has " + shapeOf(test) +
                                               "; the training set " + describe(train) + " has " + shapeOf(train));
}

std::vector<float> Dataset::channelMeans() const {
    std::vector<float> out;
    const double count = double(size()) * height * width;
    for (const auto& [sum, squares] : channelSums(*this)) out.push_back(float(sum / count));
    return out;
}

std::vector<float> Dataset::channelDeviations() const {
    std::vector<float> out;
    const double count = double(size()) * height * width;
    for (const auto& [sum, squares] : channelSums(*this)) {
        const double mean = sum / count;
        out.push_back(float(std::sqrt(std::max(squares / count - mean * mean, 1e-12))));
    }
    return out;
}

}  // namespace revnet::datasets
