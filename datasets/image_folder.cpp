#include "datasets/image_folder.hpp"

#include "datasets/file_bytes.hpp"
#include "datasets/image_resize.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <thread>

namespace revnet::datasets {

namespace fs = std::filesystem;

namespace {

// No photo needs more; a bigger file is someone's mistake.
constexpr uint64_t kMaxImageFileBytes = uint64_t(256) << 20;

bool isImageFile(const fs::directory_entry& entry) {
    if (!entry.is_regular_file()) return false;
    std::string extension = entry.path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
    return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

std::vector<fs::path> sortedEntries(const fs::path& directory, bool folders) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(directory))
        if (folders ? entry.is_directory() : isImageFile(entry)) out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    return out;
}

struct Listing {
    std::vector<fs::path> files;
    std::vector<uint32_t> labels;
};

// The image files of each class folder of `set`; `classes` maps folder names to ids.
Listing list(const fs::path& set, const std::map<std::string, uint32_t>& classes) {
    Listing l;
    for (const fs::path& folder : sortedEntries(set, true)) {
        const auto id = classes.find(folder.filename().string());
        if (id == classes.end())
            throw DatasetError(folder.string(), 0, "a class folder the train folder does not have");
        const auto files = sortedEntries(folder, false);
        if (files.empty()) throw DatasetError(folder.string(), 0, "a class folder without JPEG or PNG files");
        l.files.insert(l.files.end(), files.begin(), files.end());
        l.labels.insert(l.labels.end(), files.size(), id->second);
    }
    if (l.files.empty()) throw DatasetError(set.string(), 0, "no class folders with JPEG or PNG files");
    return l;
}

uint64_t physicalMemory() { return uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGESIZE)); }

// Decodes every file into its slot, on `threads` threads; the failures' slots are removed after.
Dataset decodeAll(const Listing& l, const ImageSize& size, unsigned threads, std::string name, std::string origin,
                  const std::vector<std::string>& classNames) {
    Dataset d{std::move(name), std::move(origin), size.channels, size.height, size.width,
              uint32_t(classNames.size()), {}, {}, classNames, {}};
    const std::size_t bytes = d.imageBytes();
    d.images.resize(l.files.size() * bytes);
    std::vector<std::string> failures(l.files.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i = next++; i < l.files.size(); i = next++) {
            try {
                const auto data = readFileBytes(l.files[i], kMaxImageFileBytes);
                const RgbImage image = decodeImage(data, l.files[i].string(), resizedShortSide(size.height, size.width));
                resizeCenterCrop(image, size.channels, size.height, size.width, d.images.data() + i * bytes);
            } catch (const std::exception& e) {
                failures[i] = e.what();
            }
        }
    };
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    pool.clear();  // joins
    std::size_t kept = 0;
    for (std::size_t i = 0; i < l.files.size(); ++i) {
        if (!failures[i].empty()) {
            d.skipped.push_back(failures[i]);
            continue;
        }
        if (kept != i) std::copy_n(d.images.begin() + i * bytes, bytes, d.images.begin() + kept * bytes);
        d.labels.push_back(l.labels[i]);
        ++kept;
    }
    d.images.resize(kept * bytes);
    if (kept == 0) throw DatasetError(d.origin, 0, "none of its " + std::to_string(l.files.size()) + " images could be decoded: " + d.skipped.front());
    return d;
}

}  // namespace

bool isImageFolder(const fs::path& directory) { return fs::is_directory(directory / "train"); }

Split readImageFolder(const fs::path& directory, const ImageSize& size, unsigned threads) {
    if (size.channels != 1 && size.channels != 3)
        throw std::invalid_argument("image folders give 1 (grey) or 3 (RGB) channels, not " + std::to_string(size.channels));
    if (size.height == 0 || size.width == 0) throw std::invalid_argument("an image size of zero");
    const fs::path train = directory / "train", val = directory / "val";
    if (!fs::is_directory(val)) throw DatasetError(val.string(), 0, "missing: an image folder has train and val folders");
    std::vector<std::string> names;
    std::map<std::string, uint32_t> classes;
    for (const fs::path& folder : sortedEntries(train, true)) {
        classes[folder.filename().string()] = uint32_t(names.size());
        names.push_back(folder.filename().string());
    }
    const Listing trainFiles = list(train, classes), valFiles = list(val, classes);
    const std::size_t count = trainFiles.files.size() + valFiles.files.size();
    const uint64_t needed = uint64_t(count) * size.channels * size.height * size.width;
    if (needed > physicalMemory() / 2)
        throw DatasetError(directory.string(), 0,
                           std::to_string(count) + " images at " + std::to_string(size.channels) + "x" +
                               std::to_string(size.height) + "x" + std::to_string(size.width) + " need " +
                               std::to_string(needed >> 20) + " MiB, more than half of this machine's memory; a "
                               "smaller --input fits more");
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const std::string name = directory.filename().empty() ? directory.parent_path().filename().string()
                                                          : directory.filename().string();
    return {decodeAll(trainFiles, size, threads, name + " train", train.string(), names),
            decodeAll(valFiles, size, threads, name + " val", val.string(), names)};
}

}  // namespace revnet::datasets
