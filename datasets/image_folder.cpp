#include "revnet/datasets/image_folder.hpp"

#include "revnet/datasets/image_resize.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace revnet::datasets {

namespace fs = std::filesystem;

namespace {


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

// A dataset of the listed files; refused when none of them decodes (tried in order until one does).
Dataset listed(const Listing& l, const ImageSize& size, std::string name, std::string origin,
               const std::vector<std::string>& classNames) {
    Dataset d{std::move(name), std::move(origin), size.channels, size.height, size.width,
              uint32_t(classNames.size()), {}, l.labels, l.files, classNames};
    std::string firstFailure;
    for (const fs::path& file : l.files) {
        try {
            readImage(file, resizedShortSide(size.height, size.width));
            return d;
        } catch (const std::exception& e) {
            if (firstFailure.empty()) firstFailure = e.what();
        }
    }
    throw DatasetError(d.origin, 0, "none of its " + std::to_string(l.files.size()) + " images could be decoded: " + firstFailure);
}

}  // namespace

bool isImageFolder(const fs::path& directory) { return fs::is_directory(directory / "train"); }

Split readImageFolder(const fs::path& directory, const ImageSize& size) {
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
    const std::string name = directory.filename().empty() ? directory.parent_path().filename().string()
                                                          : directory.filename().string();
    return {listed(trainFiles, size, name + " train", train.string(), names),
            listed(valFiles, size, name + " val", val.string(), names)};
}

}  // namespace revnet::datasets
