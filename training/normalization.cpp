#include "revnet/training/normalization.hpp"

#include "revnet/datasets/image_stream.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace revnet::training {

namespace {

constexpr float kImageNetMeans[] = {0.485f, 0.456f, 0.406f}, kImageNetDeviations[] = {0.229f, 0.224f, 0.225f};
constexpr float kLuma[] = {0.299f, 0.587f, 0.114f};
constexpr std::size_t kSampleFiles = 512, kSampleBatch = 32;

std::vector<float> imagenet(uint32_t channels) {
    if (channels == 3)
        return {kImageNetMeans[0], kImageNetMeans[1], kImageNetMeans[2], kImageNetDeviations[0], kImageNetDeviations[1],
                kImageNetDeviations[2]};
    float mean = 0, deviation = 0;
    for (int c = 0; c < 3; ++c) mean += kLuma[c] * kImageNetMeans[c], deviation += kLuma[c] * kImageNetDeviations[c];
    return {mean, deviation};
}

// Up to kSampleFiles of a streamed set decoded as evaluation sees them, into memory, a batch of
// kSampleBatch at a time (the stream holds two such batches, not the whole sample).
datasets::Dataset sample(const datasets::Dataset& d) {
    const std::size_t n = std::min(kSampleFiles, d.size()), batches = (n + kSampleBatch - 1) / kSampleBatch;
    std::vector<uint32_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = uint32_t(i * d.size() / n);
    datasets::ImageStream stream(d, datasets::ImageStream::Mode::Evaluate, 0, 2);
    stream.start(order, kSampleBatch, 0, batches, 0);
    datasets::Dataset out = d;
    out.files.clear();
    out.labels.clear();
    for (std::size_t b = 0; b < batches; ++b) {
        const datasets::StreamedBatch batch = stream.next();
        for (std::size_t i = 0; i < kSampleBatch; ++i) {
            if (!batch.present[i]) continue;  // undecodable, or past the sample's end
            const uint8_t* image = batch.images + i * d.imageBytes();
            out.images.insert(out.images.end(), image, image + d.imageBytes());
            out.labels.push_back(batch.labels[i]);
        }
    }
    return out;
}

std::vector<float> measured(const datasets::Dataset& train) {
    const datasets::Dataset& d = train.streamed() ? sample(train) : train;
    std::vector<float> out = d.channelMeans();
    for (float s : d.channelDeviations()) out.push_back(s);
    return out;
}

// "M,M,M/S,S,S" with `channels` values on each side, deviations positive.
std::vector<float> given(const std::string& spec, uint32_t channels) {
    const auto slash = spec.find('/');
    std::vector<float> out;
    for (const std::string& side : {spec.substr(0, slash), slash == std::string::npos ? "" : spec.substr(slash + 1)}) {
        std::stringstream parts(side);
        std::size_t count = 0;
        for (std::string part; std::getline(parts, part, ',');) {
            float value = 0;
            const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
            if (error != std::errc() || end != part.data() + part.size() || !std::isfinite(value))
                throw std::invalid_argument("--normalize: '" + part + "' is not a number");
            out.push_back(value);
            ++count;
        }
        if (count != channels)
            throw std::invalid_argument("--normalize '" + spec + "': the data have " + std::to_string(channels) +
                                        " channels; give that many means, '/', and that many deviations");
    }
    for (uint32_t c = 0; c < channels; ++c)
        if (!(out[channels + c] > 0)) throw std::invalid_argument("--normalize '" + spec + "': a deviation must be positive");
    return out;
}

}  // namespace

std::vector<float> normalizationOf(const std::string& spec, const datasets::Dataset& train) {
    const std::string chosen = spec.empty() ? (train.streamed() ? "imagenet" : "data") : spec;
    if (chosen == "imagenet") {
        if (train.channels != 1 && train.channels != 3)
            throw std::invalid_argument("--normalize imagenet is for 1 or 3 channels, not " + std::to_string(train.channels));
        return imagenet(train.channels);
    }
    if (chosen == "data") return measured(train);
    return given(chosen, train.channels);
}

}  // namespace revnet::training
