#include "revnet/datasets/data_source.hpp"

#include "revnet/datasets/cifar_reader.hpp"
#include "revnet/datasets/idx_reader.hpp"
#include "revnet/datasets/synthetic.hpp"

#include <charconv>
#include <cstring>

namespace revnet::datasets {

namespace {

Split loadUnchecked(const std::string& source, const ImageSize& imageSize) {
    namespace fs = std::filesystem;
    if (source.empty() || source == "fashion-mnist") {
        if (!fs::exists(kFashionMnistDirectory))
            throw DatasetError(kFashionMnistDirectory, 0,
                               "not found: install Debian's dataset-fashion-mnist (tools/install-deps.sh does), or "
                               "pass --data DIR");
        return readIdxDirectory(kFashionMnistDirectory, "Fashion-MNIST");
    }
    if (source.rfind("synthetic", 0) == 0) {
        const auto spec = parseSynthetic(source);
        if (!spec)
            throw std::invalid_argument("synthetic data is 'synthetic' or 'synthetic:CxHxW:K[:N]' with C up to 64, H "
                                        "and W up to 1024, CxHxW up to 2^20, K from 1 to 100000 and N from 1 to "
                                        "1000000 images within 8 GiB, not '" + source + "'");
        const auto [c, h, w, k, n] = *spec;
        Split s{synthetic(n, c, h, w, k, 1, "synthetic train"), synthetic(spec->testImages(), c, h, w, k, 2, "synthetic test")};
        s.train.origin = s.test.origin = source;
        return s;
    }
    const fs::path dir(source);
    if (!fs::is_directory(dir)) throw DatasetError(source, 0, "not a directory (nor fashion-mnist or synthetic)");
    if (isImageFolder(dir)) return readImageFolder(dir, imageSize);
    if (fs::exists(dir / "data_batch_1.bin")) return readCifarDirectory(dir, Cifar::Ten);
    if (fs::exists(dir / "train.bin")) return readCifarDirectory(dir, Cifar::Hundred);
    if (fs::exists(dir / "train-images-idx3-ubyte") || fs::exists(dir / "train-images-idx3-ubyte.gz"))
        return readIdxDirectory(dir, dir.filename().string());
    throw DatasetError(source, 0,
                       "no dataset found: expected CIFAR-10 (data_batch_1.bin), CIFAR-100 (train.bin), IDX "
                       "(train-images-idx3-ubyte[.gz]) files, or an image folder (train/CLASS/*.jpg and "
                       "val/CLASS/*.jpg, or .png)");
}

}  // namespace

std::optional<SyntheticSpec> parseSynthetic(const std::string& source) {
    if (source == "synthetic") return SyntheticSpec{};
    if (source.rfind("synthetic:", 0) != 0) return std::nullopt;
    SyntheticSpec spec;
    const char* at = source.data() + std::strlen("synthetic:");
    const char* end = source.data() + source.size();
    uint32_t* fields[] = {&spec.channels, &spec.height, &spec.width, &spec.classes, &spec.images};
    const char separators[] = {'x', 'x', ':', ':'};
    for (int i = 0; i < 5; ++i) {
        const auto [next, error] = std::from_chars(at, end, *fields[i]);
        if (error != std::errc() || next == at) return std::nullopt;
        at = next;
        if (at == end && i >= 3) break;  // the image count is optional
        if (i == 4 || at == end || *at != separators[i]) return std::nullopt;
        ++at;
    }
    const auto [c, h, w, k, n] = spec;
    const uint64_t imageBytes = uint64_t(c) * h * w;
    const bool fits = at == end && c >= 1 && c <= 64 && h >= 1 && h <= 1024 && w >= 1 && w <= 1024 &&
                      imageBytes <= (1u << 20) && k >= 1 && k <= 100000 && n >= 1 && n <= 1000000 &&
                      imageBytes * n <= (uint64_t(1) << 33);
    return fits ? std::optional(spec) : std::nullopt;
}

Split loadData(const std::string& source, const ImageSize& imageSize) {
    Split split = loadUnchecked(source, imageSize);
    checkCompatible(split);
    return split;
}

}  // namespace revnet::datasets
