// libFuzzer target: JPEG and PNG decoding, then resizing to a few model inputs, on hostile bytes.
#include "revnet/datasets/dataset.hpp"
#include "revnet/datasets/image_decoder.hpp"
#include "revnet/datasets/image_resize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace revnet::datasets;
    try {
        const RgbImage image = decodeImage({data, size}, "input", size % 2 ? 24 : 0);
        if (image.pixels.size() != std::size_t(image.height) * image.width * 3 || image.height == 0) __builtin_trap();
        for (const auto& [channels, height, width] : {ImageSize{3, 8, 8}, ImageSize{1, 5, 13}}) {
            std::vector<uint8_t> out(std::size_t(channels) * height * width);
            resizeCenterCrop(image, channels, height, width, out.data());
        }
    } catch (const DatasetError&) {
    }
    return 0;
}
