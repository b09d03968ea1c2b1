#include "revnet/datasets/cifar_reader.hpp"

#include "revnet/datasets/file_bytes.hpp"

namespace revnet::datasets {

namespace {
constexpr std::size_t kImageBytes = 3 * 32 * 32;
// The most one file may hold once gunzipped (4 GiB, over a million images): a hostile .gz stops here.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 32;
}

void readCifarFile(const std::filesystem::path& file, Cifar kind, CifarLabels which, Dataset& into) {
    const auto bytes = readFileBytes(file, kMaxFileBytes);
    const std::size_t labelBytes = kind == Cifar::Ten ? 1 : 2, record = labelBytes + kImageBytes;
    if (bytes.empty()) throw DatasetError(file.string(), 0, "empty file");
    if (bytes.size() % record)
        throw DatasetError(file.string(), bytes.size() - bytes.size() % record,
                           "truncated: " + std::to_string(bytes.size()) + " bytes is not a whole number of " +
                               std::to_string(record) + "-byte records");
    const uint32_t classes = kind == Cifar::Ten ? 10 : (which == CifarLabels::Fine ? 100 : 20);
    into.channels = 3, into.height = 32, into.width = 32, into.classes = classes;
    for (std::size_t at = 0; at < bytes.size(); at += record) {
        const std::size_t labelAt = at + (kind == Cifar::Hundred && which == CifarLabels::Fine ? 1 : 0);
        if (bytes[labelAt] >= classes)
            throw DatasetError(file.string(), labelAt, "label " + std::to_string(bytes[labelAt]) + " out of range (" +
                                                           std::to_string(classes) + " classes)");
        into.labels.push_back(bytes[labelAt]);
        into.images.insert(into.images.end(), bytes.begin() + at + labelBytes, bytes.begin() + at + record);
    }
}

Split readCifarDirectory(const std::filesystem::path& directory, Cifar kind, CifarLabels labels) {
    Split s;
    const std::string name = kind == Cifar::Ten ? "CIFAR-10" : "CIFAR-100";
    s.train.name = name + " train";
    s.test.name = name + " test";
    s.train.origin = s.test.origin = directory.string();
    if (kind == Cifar::Ten) {
        for (int i = 1; i <= 5; ++i) readCifarFile(directory / ("data_batch_" + std::to_string(i) + ".bin"), kind, labels, s.train);
        readCifarFile(directory / "test_batch.bin", kind, labels, s.test);
    } else {
        readCifarFile(directory / "train.bin", kind, labels, s.train);
        readCifarFile(directory / "test.bin", kind, labels, s.test);
    }
    return s;
}

}  // namespace revnet::datasets
