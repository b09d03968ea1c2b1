// `revnet bench loader`: the image loader alone, no device: training batches of an image folder
// streamed as `revnet train` streams them (random-resized crops and flips, decoded ahead on host
// threads), timed for each thread count. Without a folder it writes one of synthetic photos.
#include "tools/commands.hpp"

#include "revnet/datasets/image_folder.hpp"
#include "revnet/datasets/image_stream.hpp"

#include <turbojpeg.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>
#include <unistd.h>

namespace revnet::cli {

namespace {

const char* kHelp =
    "usage: revnet bench loader [--data DIR] [--input CxHxW] [--batch N] [--batches N]\n\n"
    "Streams training batches of an image folder (DIR/train/CLASS/*) as revnet train does: random-\n"
    "resized crops and flips to --input (default 3x224x224), decoded on 1, 2, ... host threads up to\n"
    "the machine's, --batches batches of --batch images each (defaults 8 and 32), and prints images/s\n"
    "for each: the most images a second a training run can be fed on this machine. Without --data it\n"
    "first writes 256 synthetic photos (500x375 JPEGs at quality 90, ImageNet's typical size) to a\n"
    "temporary folder, and removes it after.\n";

constexpr uint32_t kPhotoWidth = 500, kPhotoHeight = 375, kPhotos = 256, kQuality = 90;

// Smooth colour fields with grain: JPEGs of a photo's size and compressibility.
std::vector<uint8_t> photo(std::mt19937& random) {
    std::uniform_real_distribution<double> phase(0, 6.28), frequency(0.005, 0.05);
    std::normal_distribution<double> grain(0, 12);
    double f[3], p[3];
    for (int c = 0; c < 3; ++c) f[c] = frequency(random), p[c] = phase(random);
    std::vector<uint8_t> rgb(std::size_t(kPhotoWidth) * kPhotoHeight * 3);
    for (uint32_t y = 0; y < kPhotoHeight; ++y)
        for (uint32_t x = 0; x < kPhotoWidth; ++x)
            for (int c = 0; c < 3; ++c) {
                const double v = 128 + 90 * std::sin(f[c] * x + p[c]) * std::cos(f[2 - c] * y) + grain(random);
                rgb[(std::size_t(y) * kPhotoWidth + x) * 3 + c] = uint8_t(std::clamp(v, 0.0, 255.0));
            }
    return rgb;
}

void writePhotos(const std::filesystem::path& root) {
    std::mt19937 random(5);
    tjhandle handle = tjInitCompress();
    if (!handle) throw std::runtime_error("TurboJPEG: cannot start a compressor");
    for (uint32_t i = 0; i < kPhotos; ++i) {
        for (const char* set : {"train", "val"}) {
            if (std::string(set) == "val" && i >= 8) continue;
            const auto folder = root / set / ("class" + std::to_string(i % 4));
            std::filesystem::create_directories(folder);
            const auto rgb = photo(random);
            unsigned char* jpeg = nullptr;
            unsigned long size = 0;
            if (tjCompress2(handle, rgb.data(), kPhotoWidth, 0, kPhotoHeight, TJPF_RGB, &jpeg, &size, TJSAMP_420,
                            kQuality, 0) != 0)
                throw std::runtime_error(std::string("TurboJPEG: ") + tjGetErrorStr2(handle));
            std::ofstream(folder / ("photo" + std::to_string(i) + ".jpg"), std::ios::binary)
                .write(reinterpret_cast<const char*>(jpeg), std::streamsize(size));
            tjFree(jpeg);
        }
    }
    tjDestroy(handle);
}

}  // namespace

int benchLoader(Arguments& args) {
    if (args.help()) {
        std::printf("%s", kHelp);
        return 0;
    }
    const auto data = args.option("data");
    const ImageShape input = parseImageShape(args.option("input").value_or("3x224x224"), "--input");
    const auto batch = std::size_t(args.count("batch", 32, kMaxBatch));
    const auto batches = std::size_t(args.count("batches", 8, 1000000));
    args.finish();
    if (batch == 0 || batches == 0) throw UsageError("--batch and --batches must be at least 1");

    std::filesystem::path root;
    const bool synthetic = !data;
    if (synthetic) {
        root = std::filesystem::temp_directory_path() / ("revnet-loader-" + std::to_string(::getpid()));
        std::printf("writing %u synthetic %ux%u JPEG photos to %s ...\n", kPhotos, kPhotoWidth, kPhotoHeight,
                    root.c_str());
        std::fflush(stdout);
        writePhotos(root);
    } else {
        root = *data;
    }
    const datasets::Split split = datasets::readImageFolder(root, {input.c, input.h, input.w});
    std::printf("%zu training images of %s, batches of %zu at %ux%ux%u\n\n", split.train.size(), root.c_str(), batch,
                input.c, input.h, input.w);
    std::vector<uint32_t> order(split.train.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = uint32_t(i);
    std::shuffle(order.begin(), order.end(), std::mt19937(1));
    const std::size_t perPass = std::max<std::size_t>(1, order.size() / batch);
    std::printf("%-8s %10s %14s\n", "threads", "images/s", "per thread");
    for (unsigned threads = 1; threads <= std::max(1u, std::thread::hardware_concurrency()); ++threads) {
        datasets::ImageStream stream(split.train, datasets::ImageStream::Mode::Train, threads);
        const auto started = std::chrono::steady_clock::now();
        std::size_t images = 0;
        for (std::size_t done = 0; done < batches;) {
            const std::size_t pass = std::min(perPass, batches - done);
            stream.start(order, batch, 0, pass, done);
            for (std::size_t b = 0; b < pass; ++b, ++done) {
                const datasets::StreamedBatch got = stream.next();
                for (std::size_t i = 0; i < batch; ++i) images += got.present[i];
            }
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("%-8u %10.1f %14.1f\n", threads, images / seconds, images / seconds / threads);
        std::fflush(stdout);
    }
    if (synthetic) std::filesystem::remove_all(root);
    return 0;
}

}  // namespace revnet::cli
