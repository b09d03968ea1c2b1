#include "datasets/data_source.hpp"

#include "datasets/cifar_reader.hpp"
#include "datasets/idx_reader.hpp"
#include "datasets/synthetic.hpp"

#include <cstdio>

namespace revnet::datasets {

Split loadData(const std::string& source) {
    namespace fs = std::filesystem;
    if (source.empty() || source == "fashion-mnist") {
        if (!fs::exists(kFashionMnistDirectory))
            throw DatasetError(kFashionMnistDirectory, 0,
                               "not found: install Debian's dataset-fashion-mnist (tools/install-deps.sh does), or "
                               "pass --data DIR");
        return readIdxDirectory(kFashionMnistDirectory, "Fashion-MNIST");
    }
    if (source.rfind("synthetic", 0) == 0) {
        unsigned c = 3, h = 32, w = 32, k = 10;
        if (source != "synthetic" && std::sscanf(source.c_str(), "synthetic:%ux%ux%u:%u", &c, &h, &w, &k) != 4)
            throw std::invalid_argument("synthetic data is 'synthetic' or 'synthetic:CxHxW:K', not '" + source + "'");
        return {synthetic(5000, c, h, w, k, 1, "synthetic train"), synthetic(1000, c, h, w, k, 2, "synthetic test")};
    }
    const fs::path dir(source);
    if (!fs::is_directory(dir)) throw DatasetError(source, 0, "not a directory (nor fashion-mnist or synthetic)");
    if (fs::exists(dir / "data_batch_1.bin")) return readCifarDirectory(dir, Cifar::Ten);
    if (fs::exists(dir / "train.bin")) return readCifarDirectory(dir, Cifar::Hundred);
    if (fs::exists(dir / "train-images-idx3-ubyte") || fs::exists(dir / "train-images-idx3-ubyte.gz"))
        return readIdxDirectory(dir, dir.filename().string());
    throw DatasetError(source, 0,
                       "no dataset found: expected CIFAR-10 (data_batch_1.bin), CIFAR-100 (train.bin) or IDX "
                       "(train-images-idx3-ubyte[.gz]) files");
}

}  // namespace revnet::datasets
