#include "revnet/datasets/synthetic.hpp"

#include <algorithm>
#include <random>

namespace revnet::datasets {

Dataset synthetic(std::size_t count, uint32_t channels, uint32_t height, uint32_t width, uint32_t classes,
                  uint64_t seed, std::string name) {
    if (!count || !channels || !height || !width || !classes) throw std::invalid_argument("synthetic data of size zero");
    Dataset d{std::move(name), {}, channels, height, width, classes, {}, {}};
    std::mt19937_64 random(seed);
    std::uniform_int_distribution<int> noise(0, 96);
    const uint32_t side = std::max(1u, std::min(height, width) / 4);
    d.images.resize(count * d.imageBytes());
    d.labels.resize(count);
    for (std::size_t n = 0; n < count; ++n) {
        const uint32_t label = uint32_t(random() % classes);
        d.labels[n] = label;
        // The class picks the square's cell on a grid over the image.
        const uint32_t cellsX = std::max(1u, width / side), cellsY = std::max(1u, height / side);
        const uint32_t cell = label % (cellsX * cellsY), x0 = (cell % cellsX) * side, y0 = (cell / cellsX) % cellsY * side;
        uint8_t* image = d.images.data() + n * d.imageBytes();
        for (uint32_t c = 0; c < channels; ++c)
            for (uint32_t y = 0; y < height; ++y)
                for (uint32_t x = 0; x < width; ++x) {
                    const bool inside = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
                    // Channels past the grid's capacity tell the classes apart by brightness.
                    const int bright = 160 + int(label / (cellsX * cellsY)) * 8 % 96;
                    image[(c * height + y) * width + x] = uint8_t(std::min(255, noise(random) + (inside ? bright : 0)));
                }
    }
    return d;
}

}  // namespace revnet::datasets
