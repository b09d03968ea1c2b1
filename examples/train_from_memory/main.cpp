// Trains a small RevNet on images this program draws itself (no files): a bright square in one
// of four quadrants of a dark 1x16x16 image, labelled by its quadrant. Prints the loss as it
// goes and the test accuracy after each epoch; exits 1 if the network did not learn the task.
#include <revnet/datasets/dataset.hpp>
#include <revnet/engine/engine.hpp>
#include <revnet/training/trainer.hpp>

#include <cstdio>
#include <exception>
#include <random>

namespace {

// Image i: noise, with a square of 6x6 bright pixels in quadrant i % 4 at a random place.
uint32_t drawSquare(std::size_t i, std::span<uint8_t> image, uint32_t seed) {
    std::mt19937 random(seed * 7919u + uint32_t(i));
    for (uint8_t& pixel : image) pixel = uint8_t(random() % 64);
    const uint32_t quadrant = uint32_t(i % 4);
    const uint32_t top = (quadrant / 2) * 8 + random() % 3, left = (quadrant % 2) * 8 + random() % 3;
    for (uint32_t y = top; y < top + 6; ++y)
        for (uint32_t x = left; x < left + 6; ++x) image[y * 16 + x] = uint8_t(192 + random() % 64);
    return quadrant;
}

}  // namespace

int main(int argc, char** argv) try {
    using namespace revnet;
    const datasets::ImageSize size{1, 16, 16};
    datasets::Split data{
        datasets::makeDataset("squares", size, 4, 1024, [](std::size_t i, std::span<uint8_t> image) { return drawSquare(i, image, 1); }),
        datasets::makeDataset("squares (test)", size, 4, 256, [](std::size_t i, std::span<uint8_t> image) { return drawSquare(i, image, 2); }),
    };

    Engine engine(EngineOptions::fromEnvironment());  // REVNET_DEVICE picks the device
    std::printf("device: %s\n", engine.info().name.c_str());

    training::TrainConfig config;
    config.model = "revnet-20";
    config.epochs = 3;
    config.batch = 32;
    config.lr = 0.05f;
    config.runDirectory = argc > 1 ? argv[1] : "train_from_memory_run";
    training::Trainer trainer(engine, config, data);

    training::RunObserver observer;
    observer.progress = [](const training::StepProgress& p) {
        if (p.batch % 8 == 0) std::printf("epoch %u, batch %zu/%zu: loss %.3f\n", p.epoch + 1, p.batch, p.batches, p.loss);
    };
    double accuracy = 0;
    observer.epochEnd = [&](const training::EpochReport& r) {
        accuracy = r.test.accuracy;
        std::printf("epoch %u: train loss %.3f, test accuracy %.1f%%\n", r.epoch + 1, r.trainLoss, 100 * accuracy);
    };
    trainer.run(observer);
    if (accuracy < 0.9) {
        std::fprintf(stderr, "the network did not learn the squares (test accuracy %.1f%%)\n", 100 * accuracy);
        return 1;
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "train_from_memory: %s\n", e.what());
    return 1;
}
