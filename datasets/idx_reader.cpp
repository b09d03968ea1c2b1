#include "revnet/datasets/idx_reader.hpp"

#include "revnet/datasets/file_bytes.hpp"

#include <algorithm>

namespace revnet::datasets {

namespace {

uint32_t bigEndian(const std::vector<uint8_t>& b, std::size_t at) {
    return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

// The header's dimensions and the data they describe. Reads stop at the size the header
// promises: a .gz holding more is refused without inflating the rest.
std::vector<uint8_t> checkedPayload(const std::filesystem::path& path, uint32_t magic, std::size_t header,
                                    std::vector<uint32_t>& dims) {
    const std::string file = path.string();
    CompressedFile in(path);
    std::vector<uint8_t> head;
    in.read(head, header);
    if (head.size() < header) throw DatasetError(file, head.size(), "truncated header (" + std::to_string(head.size()) + " bytes)");
    const uint32_t found = bigEndian(head, 0);
    if (found != magic) {
        char text[80];
        std::snprintf(text, sizeof text, "magic number 0x%08x, expected 0x%08x", found, magic);
        throw DatasetError(file, 0, text);
    }
    std::uint64_t expected = 1;
    for (std::size_t i = 4; i < header; i += 4) {
        dims.push_back(bigEndian(head, i));
        if (__builtin_mul_overflow(expected, std::uint64_t(dims.back()), &expected) || expected > kMaxIdxBytes)
            throw DatasetError(file, i, "the header's dimensions describe more than " + std::to_string(kMaxIdxBytes) +
                                            " bytes of data");
    }
    std::vector<uint8_t> data;
    in.read(data, expected);
    if (data.size() < expected)
        throw DatasetError(file, header + data.size(), "truncated: the header promises " + std::to_string(expected) +
                                                           " bytes of data, the file has " + std::to_string(data.size()));
    if (!in.atEnd()) throw DatasetError(file, header + expected, "bytes past the data the header describes");
    return data;
}

std::filesystem::path findFile(const std::filesystem::path& directory, const std::string& stem) {
    for (const auto& candidate : {directory / (stem + ".gz"), directory / stem})
        if (std::filesystem::exists(candidate)) return candidate;
    throw DatasetError((directory / stem).string(), 0, "no such file (nor with .gz)");
}

}  // namespace

Dataset readIdx(const std::filesystem::path& images, const std::filesystem::path& labels, uint32_t classes,
                std::string name) {
    std::vector<uint32_t> imageDims, labelDims;
    Dataset d;
    d.name = std::move(name);
    d.origin = images.string();
    d.images = checkedPayload(images, 0x00000803, 16, imageDims);
    const auto labelBytes = checkedPayload(labels, 0x00000801, 8, labelDims);
    if (imageDims[0] != labelDims[0])
        throw DatasetError(labels.string(), 4, std::to_string(labelDims[0]) + " labels for " +
                                                   std::to_string(imageDims[0]) + " images in " + images.string());
    if (imageDims[1] == 0 || imageDims[2] == 0) throw DatasetError(images.string(), 8, "images of size zero");
    d.channels = 1;
    d.height = imageDims[1];
    d.width = imageDims[2];
    d.classes = classes;
    d.labels.reserve(labelBytes.size());
    for (std::size_t i = 0; i < labelBytes.size(); ++i) {
        if (labelBytes[i] >= classes)
            throw DatasetError(labels.string(), 8 + i, "label " + std::to_string(labelBytes[i]) + " out of range (" +
                                                           std::to_string(classes) + " classes)");
        d.labels.push_back(labelBytes[i]);
    }
    return d;
}

Split readIdxDirectory(const std::filesystem::path& directory, std::string name) {
    return {readIdx(findFile(directory, "train-images-idx3-ubyte"), findFile(directory, "train-labels-idx1-ubyte"), 10,
                    name + " train"),
            readIdx(findFile(directory, "t10k-images-idx3-ubyte"), findFile(directory, "t10k-labels-idx1-ubyte"), 10,
                    name + " test")};
}

}  // namespace revnet::datasets
