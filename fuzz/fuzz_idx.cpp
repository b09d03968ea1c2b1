// libFuzzer target: the IDX reader on hostile image and label files, plain or gzip (the input's
// first byte says where the image file ends and the label file begins).
#include "revnet/datasets/idx_reader.hpp"
#include "fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const size_t split = std::min<size_t>(size - 1, size_t(data[0]) * (size - 1) / 255);
    const revnet::fuzz::ScratchFile images({data + 1, split}), labels({data + 1 + split, size - 1 - split});
    try {
        const auto d = revnet::datasets::readIdx(images.path(), labels.path(), 10, "fuzz");
        if (d.images.size() != d.size() * d.imageBytes()) __builtin_trap();  // what was read must be whole
    } catch (const revnet::datasets::DatasetError&) {
    }
    return 0;
}
