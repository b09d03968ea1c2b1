// A labelled image dataset: uint8 images in memory, C x H x W bytes each, and their labels; or,
// streamed (image folders), the files to decode batch by batch into that size. The readers fill
// it and check everything they read; the trainer uploads batches of it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace revnet::datasets {

// Bad data: the message names the file, the byte offset and what was wrong.
class DatasetError : public std::runtime_error {
public:
    DatasetError(const std::string& file, std::uint64_t offset, const std::string& problem);
};

struct Dataset {
    std::string name;
    std::string origin;  // the file or directory it was read from, for messages
    uint32_t channels = 1, height = 0, width = 0, classes = 0;
    std::vector<uint8_t> images;  // N x C x H x W, unless streamed
    std::vector<uint32_t> labels;
    std::vector<std::filesystem::path> files;  // streamed: image i's file (datasets/image_stream.hpp)
    std::vector<std::string> classNames;  // when the source names its classes (image folders)

    std::size_t size() const { return labels.size(); }
    std::size_t imageBytes() const { return std::size_t(channels) * height * width; }
    bool streamed() const { return !files.empty(); }
    // Per-channel mean and standard deviation of the pixels scaled to [0, 1] (in-memory datasets).
    std::vector<float> channelMeans() const;
    std::vector<float> channelDeviations() const;
};

// The size images of any size (image folders) are brought to: a model's input.
struct ImageSize {
    uint32_t channels = 3, height = 224, width = 224;
};

struct Split {
    Dataset train, test;
};

// Image `index`'s bytes (channels x height x width, uint8) written into `image`; returns its label.
using ImageSource = std::function<uint32_t(std::size_t index, std::span<uint8_t> image)>;
// A dataset the program makes itself, no files: `count` images of `size`, from draw(i, bytes) for
// i = 0, 1, ... in order. DatasetError (naming `name` and the image) for a label of `classes` or
// more; std::invalid_argument for an empty shape or no classes.
Dataset makeDataset(const std::string& name, const ImageSize& size, uint32_t classes, std::size_t count,
                    const ImageSource& draw);

// Refuses (DatasetError naming both origins) a split whose test set cannot go through a model
// made for its training set: another image shape or class count, or no images at all.
void checkCompatible(const Split& split);

}  // namespace revnet::datasets
