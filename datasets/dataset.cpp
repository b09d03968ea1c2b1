#include "datasets/dataset.hpp"

#include <cmath>

namespace revnet::datasets {

DatasetError::DatasetError(const std::string& file, std::uint64_t offset, const std::string& problem)
    : std::runtime_error(file + ": at byte " + std::to_string(offset) + ": " + problem) {}

namespace {

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
