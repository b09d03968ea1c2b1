// Image files and image folders, written by the tests with the same libraries (libpng,
// libjpeg-turbo): decoded pixels against the values written, every colour model brought to RGB,
// resizing and cropping against hand-computed pixels, hostile files refused by name, and a folder
// read into a dataset with its bad files skipped and its mistakes refused, then trained on by a
// model with the ImageNet stem.
#include "datasets/data_source.hpp"
#include "datasets/image_decoder.hpp"
#include "datasets/image_folder.hpp"
#include "datasets/image_resize.hpp"
#include "tests/test_engine.hpp"
#include "training/trainer.hpp"

#include <catch2/catch.hpp>
#include <png.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace revnet::datasets;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return revnet::test::scratch("images", name); }

void write(const fs::path& file, const std::vector<uint8_t>& bytes) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A PNG of `format` (PNG_FORMAT_*), with a colour map for the colour-mapped formats.
std::vector<uint8_t> png(uint32_t width, uint32_t height, uint32_t format, const std::vector<uint8_t>& pixels,
                         const std::vector<uint8_t>& colormap = {}) {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = format;
    if (!colormap.empty()) image.colormap_entries = uint32_t(colormap.size() / 3);
    png_alloc_size_t size = 0;
    REQUIRE(png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, colormap.empty() ? nullptr : colormap.data()));
    std::vector<uint8_t> out(size);
    REQUIRE(png_image_write_to_memory(&image, out.data(), &size, 0, pixels.data(), 0, colormap.empty() ? nullptr : colormap.data()));
    out.resize(size);
    return out;
}

// A JPEG at quality 100 without chroma subsampling (grey for TJPF_GRAY, CMYK for TJPF_CMYK).
std::vector<uint8_t> jpeg(uint32_t width, uint32_t height, int format, const std::vector<uint8_t>& pixels) {
    tjhandle handle = tjInitCompress();
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    const int sampling = format == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_444;
    REQUIRE(tjCompress2(handle, pixels.data(), int(width), 0, int(height), format, &buffer, &size, sampling, 100, 0) == 0);
    std::vector<uint8_t> out(buffer, buffer + size);
    tjFree(buffer);
    tjDestroy(handle);
    return out;
}

std::vector<uint8_t> randomBytes(std::size_t n, std::mt19937& random) {
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = uint8_t(random());
    return out;
}

// The largest difference between two byte vectors.
int largestDifference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    REQUIRE(a.size() == b.size());
    int worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
    return worst;
}

}  // namespace

TEST_CASE("PNG files of every colour model decode to the RGB values written", "[images]") {
    auto random = revnet::test::freshRandom();
    const uint32_t w = 7, h = 5;  // odd sizes: rows are not padded anywhere
    const auto rgb = randomBytes(w * h * 3, random);
    CHECK(decodeImage(png(w, h, PNG_FORMAT_RGB, rgb), "rgb.png").pixels == rgb);

    // Grey: each value three times.
    const auto grey = randomBytes(w * h, random);
    std::vector<uint8_t> expected;
    for (uint8_t g : grey) expected.insert(expected.end(), {g, g, g});
    const RgbImage fromGrey = decodeImage(png(w, h, PNG_FORMAT_GRAY, grey), "grey.png");
    CHECK(fromGrey.width == w);
    CHECK(fromGrey.height == h);
    CHECK(fromGrey.pixels == expected);

    // A palette of four colours.
    const auto palette = randomBytes(4 * 3, random);
    std::vector<uint8_t> indices(w * h);
    expected.clear();
    for (auto& i : indices) {
        i = uint8_t(random() % 4);
        expected.insert(expected.end(), palette.begin() + 3 * i, palette.begin() + 3 * i + 3);
    }
    CHECK(decodeImage(png(w, h, PNG_FORMAT_RGB_COLORMAP, indices, palette), "palette.png").pixels == expected);

    // Alpha composited on black: transparent pixels black, opaque ones exact. (Partial alpha is
    // libpng's linear-light composite, whose fixed-point tables stray several levels from any
    // formula, so it is left to libpng's own tests.)
    std::vector<uint8_t> rgba(w * h * 4);
    for (std::size_t p = 0; p < w * h; ++p) {
        for (int c = 0; c < 3; ++c) rgba[4 * p + c] = rgb[3 * p + c];
        rgba[4 * p + 3] = p % 2 ? 0 : 255;
    }
    const RgbImage composited = decodeImage(png(w, h, PNG_FORMAT_RGBA, rgba), "alpha.png");
    for (std::size_t p = 0; p < w * h; ++p)
        for (int c = 0; c < 3; ++c) {
            INFO("pixel " << p << " channel " << c << " alpha " << int(rgba[4 * p + 3]));
            CHECK(composited.pixels[3 * p + c] == (p % 2 ? 0 : rgb[3 * p + c]));
        }
}

TEST_CASE("JPEG files decode to RGB: colour, grey, CMYK, and scaled for small inputs", "[images]") {
    auto random = revnet::test::freshRandom();
    // A smooth image, so that quality-100 4:4:4 JPEG keeps every value within a few levels.
    const uint32_t w = 48, h = 40;
    std::vector<uint8_t> rgb(w * h * 3);
    const int base[3] = {int(random() % 128), int(random() % 128), int(random() % 128)};
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c) rgb[(y * w + x) * 3 + c] = uint8_t(base[c] + x + y * (c + 1) / 2);
    const RgbImage colour = decodeImage(jpeg(w, h, TJPF_RGB, rgb), "colour.jpg");
    CHECK(colour.width == w);
    CHECK(colour.height == h);
    CHECK(largestDifference(colour.pixels, rgb) <= 3);

    std::vector<uint8_t> grey(w * h), greyAsRgb;
    for (std::size_t p = 0; p < grey.size(); ++p) grey[p] = rgb[3 * p];
    for (uint8_t g : grey) greyAsRgb.insert(greyAsRgb.end(), {g, g, g});
    CHECK(largestDifference(decodeImage(jpeg(w, h, TJPF_GRAY, grey), "grey.jpg").pixels, greyAsRgb) <= 3);

    // CMYK as Adobe writes it (inverted): red = c x k / 255.
    std::vector<uint8_t> cmyk(w * h * 4), fromCmyk(w * h * 3);
    for (std::size_t p = 0; p < w * h; ++p) {
        const uint8_t k = uint8_t(200 + p % 50);
        for (int c = 0; c < 3; ++c) {
            cmyk[4 * p + c] = rgb[3 * p + c];
            fromCmyk[3 * p + c] = uint8_t((rgb[3 * p + c] * k + 127) / 255);
        }
        cmyk[4 * p + 3] = k;
    }
    CHECK(largestDifference(decodeImage(jpeg(w, h, TJPF_CMYK, cmyk), "cmyk.jpg").pixels, fromCmyk) <= 4);

    // 256x192 for a 24-pixel short side: decoded at 1/8 (32x24), the smallest scale that reaches it.
    const std::vector<uint8_t> big(256 * 192 * 3, 90);
    const RgbImage scaled = decodeImage(jpeg(256, 192, TJPF_RGB, big), "big.jpg", 24);
    CHECK(scaled.width == 32);
    CHECK(scaled.height == 24);
    CHECK(largestDifference(scaled.pixels, std::vector<uint8_t>(32 * 24 * 3, 90)) <= 1);
    CHECK(decodeImage(jpeg(256, 192, TJPF_RGB, big), "big.jpg", 25).width == 64);  // 1/8 falls short: 1/4
}

TEST_CASE("hostile image files are refused by name, never crash", "[images]") {
    auto random = revnet::test::freshRandom();
    const auto good = png(3, 2, PNG_FORMAT_RGB, randomBytes(18, random));
    CHECK_THROWS_WITH(decodeImage(randomBytes(100, random), "noise.jpg"), Catch::Contains("noise.jpg") && Catch::Contains("neither a JPEG nor a PNG"));
    CHECK_THROWS_WITH(decodeImage({}, "empty.png"), Catch::Contains("empty.png"));
    CHECK_THROWS_WITH(decodeImage(std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2), "cut.png"),
                      Catch::Contains("cut.png"));
    // A header claiming 40000 x 40000 pixels, its checksum right: refused before any allocation.
    std::vector<uint8_t> huge = good;
    for (int i = 0; i < 2; ++i)
        for (int b = 0; b < 4; ++b) huge[16 + 4 * i + b] = uint8_t(40000u >> (24 - 8 * b));
    const uLong crc = crc32(0L, huge.data() + 12, 17);
    for (int b = 0; b < 4; ++b) huge[29 + b] = uint8_t(crc >> (24 - 8 * b));
    CHECK_THROWS_WITH(decodeImage(huge, "huge.png"), Catch::Contains("huge.png") && Catch::Contains("40000x40000"));
    const auto photo = jpeg(16, 16, TJPF_RGB, std::vector<uint8_t>(16 * 16 * 3, 128));
    auto broken = photo;
    for (std::size_t i = broken.size() / 3; i < broken.size() - 2; ++i) broken[i] = uint8_t(random());
    std::vector<uint8_t> header(photo.begin(), photo.begin() + 20);
    CHECK_THROWS_WITH(decodeImage(header, "header.jpg"), Catch::Contains("header.jpg"));
    try {
        (void)decodeImage(broken, "broken.jpg");  // decodable with a warning, or refused by name
    } catch (const DatasetError& e) {
        CHECK_THAT(e.what(), Catch::Contains("broken.jpg"));
    }
}

TEST_CASE("resizing scales the shorter side to 8/7 of the input's and crops the centre", "[images]") {
    // 84x64, left half red and right half blue; to 32x32: 64 scales to 37 (32 x 8/7), a factor
    // 1.73, the crop covers 55x55 source pixels around the centre. Far from the middle column the
    // colours come through exactly; the middle column mixes them.
    RgbImage image{64, 84, std::vector<uint8_t>(64 * 84 * 3)};
    for (uint32_t y = 0; y < 64; ++y)
        for (uint32_t x = 0; x < 84; ++x) {
            uint8_t* p = &image.pixels[(y * 84 + x) * 3];
            p[0] = x < 42 ? 200 : 0;
            p[2] = x < 42 ? 0 : 100;
        }
    CHECK(resizedShortSide(32, 32) == 37);
    std::vector<uint8_t> out(3 * 32 * 32);
    resizeCenterCrop(image, 3, 32, 32, out.data());
    const std::size_t plane = 32 * 32;
    for (uint32_t y = 0; y < 32; ++y) {
        INFO("row " << y);
        CHECK(out[y * 32 + 0] == 200);               // red plane, left column
        CHECK(out[2 * plane + y * 32 + 0] == 0);     // blue plane, left column
        CHECK(out[y * 32 + 31] == 0);                // red plane, right column
        CHECK(out[2 * plane + y * 32 + 31] == 100);  // blue plane, right column
        CHECK(out[plane + y * 32 + 5] == 0);         // green plane
    }
    // The edge at source x = 42 sits at output (42 - (84 - 32 x 1.7297) / 2) / 1.7297 = 16.0.
    CHECK(out[15] == 200);
    CHECK(out[16] == 0);
    // One channel is luma: 0.299 x 200 on the left, 0.114 x 100 on the right.
    std::vector<uint8_t> luma(32 * 32);
    resizeCenterCrop(image, 1, 32, 32, luma.data());
    CHECK(luma[0] == 60);
    CHECK(luma[31] == 11);
    // An image smaller than the output is enlarged: a 2x2 checker to 8x8 keeps its four colours.
    RgbImage tiny{2, 2, {10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40}};
    std::vector<uint8_t> big(64);
    resizeCenterCrop(tiny, 1, 8, 8, big.data());
    CHECK(big[0] == 10);
    CHECK(big[7] == 20);
    CHECK(big[56] == 30);
    CHECK(big[63] == 40);
}

namespace {

// A folder of two colour classes ("blue", "red"), mixed PNG and JPEG, `perClass` files a set.
fs::path colourFolder(const std::string& name, uint32_t perClass, uint32_t side, std::mt19937& random) {
    const fs::path root = scratch(name);
    fs::remove_all(root);
    for (const char* set : {"train", "val"})
        for (int red = 0; red < 2; ++red)
            for (uint32_t i = 0; i < perClass; ++i) {
                std::vector<uint8_t> rgb(side * side * 3);
                for (std::size_t p = 0; p < side * side; ++p) {
                    const uint8_t noise = uint8_t(random() % 60);
                    rgb[3 * p + 0] = uint8_t(red ? 150 + noise : noise);
                    rgb[3 * p + 1] = uint8_t(noise);
                    rgb[3 * p + 2] = uint8_t(red ? noise : 150 + noise);
                }
                const fs::path folder = root / set / (red ? "red" : "blue");
                if (i % 2) write(folder / ("img" + std::to_string(i) + ".PNG"), png(side, side, PNG_FORMAT_RGB, rgb));
                else write(folder / ("img" + std::to_string(i) + ".jpg"), jpeg(side, side, TJPF_RGB, rgb));
            }
    return root;
}

}  // namespace

TEST_CASE("an image folder reads into a dataset: sorted classes, bad files skipped, mistakes refused", "[images]") {
    auto random = revnet::test::freshRandom();
    const fs::path root = colourFolder("folder", 5, 40, random);
    write(root / "train" / "red" / "notes.txt", {'h', 'i'});                          // not an image: ignored
    write(root / "train" / "blue" / "zz-corrupt.jpg", randomBytes(300, random));      // skipped, by name
    const Split split = loadData(root.string(), ImageSize{3, 16, 16});
    CHECK(split.train.size() == 10);
    CHECK(split.test.size() == 10);
    CHECK(split.train.classes == 2);
    CHECK(split.train.classNames == std::vector<std::string>{"blue", "red"});
    REQUIRE(split.train.skipped.size() == 1);
    CHECK_THAT(split.train.skipped[0], Catch::Contains("zz-corrupt.jpg"));
    CHECK(split.test.skipped.empty());
    CHECK(split.train.height == 16);
    // Labels follow sorted folder names; a blue image's blue plane outshines its red one.
    for (std::size_t n = 0; n < split.train.size(); ++n) {
        const uint8_t* image = split.train.images.data() + n * split.train.imageBytes();
        const bool red = image[0] > image[2 * 256];
        CHECK(split.train.labels[n] == (red ? 1u : 0u));
    }
    const Split grey = loadData(root.string(), ImageSize{1, 8, 8});
    CHECK(grey.train.channels == 1);
    CHECK(grey.train.images.size() == 10 * 64);

    fs::create_directories(root / "train" / "green");
    CHECK_THROWS_WITH(loadData(root.string(), ImageSize{3, 16, 16}), Catch::Contains("green") && Catch::Contains("without JPEG or PNG"));
    fs::remove(root / "train" / "green");
    fs::create_directories(root / "val" / "purple");
    write(root / "val" / "purple" / "a.png", png(1, 1, PNG_FORMAT_RGB, {1, 2, 3}));
    CHECK_THROWS_WITH(loadData(root.string(), ImageSize{3, 16, 16}), Catch::Contains("purple") && Catch::Contains("train folder does not have"));
    fs::remove_all(root / "val");
    CHECK_THROWS_WITH(loadData(root.string(), ImageSize{3, 16, 16}), Catch::Contains("val") && Catch::Contains("missing"));
    CHECK_THROWS_WITH(readImageFolder(root, ImageSize{2, 16, 16}), Catch::Contains("1 (grey) or 3 (RGB)"));
    const fs::path empty = scratch("empty");
    fs::create_directories(empty / "train");
    fs::create_directories(empty / "val");
    CHECK_THROWS_WITH(loadData(empty.string()), Catch::Contains("no class folders"));
    // Every file bad: an error, not an empty dataset.
    const fs::path bad = scratch("all-bad");
    for (const char* set : {"train", "val"}) write(bad / set / "x" / "a.jpg", randomBytes(50, random));
    CHECK_THROWS_WITH(loadData(bad.string()), Catch::Contains("none of its 1 images could be decoded"));
}

TEST_CASE("a model with the ImageNet stem learns an image folder at 64x64", "[images][training]") {
    // Red against blue under noise: a few steps of a reduced ImageNet-style RevNet (7x7/2 stem,
    // max pool, bottleneck stages) tell them apart; chance is 50%.
    auto random = revnet::test::freshRandom();
    const fs::path root = colourFolder("learn", 20, 80, random);
    const Split data = loadData(root.string(), ImageSize{3, 64, 64});
    revnet::training::TrainConfig c;
    c.model = "revnet:units=1-1,channels=8-8-16,block=bottleneck,stem=imagenet";
    c.data = root.string();
    c.input = {3, 64, 64};
    c.epochs = 3;
    c.batch = 10;
    c.runDirectory = scratch("learn-run").string();
    fs::remove_all(c.runDirectory);
    revnet::training::Trainer trainer(revnet::test::engine(), c, data);
    CHECK(trainer.run() == revnet::training::Trainer::End::Finished);
    const auto result = trainer.evaluate();
    INFO("val loss " << result.loss << ", accuracy " << result.accuracy);
    CHECK(result.samples == 40);
    CHECK(result.accuracy == 1.0);
    CHECK(result.loss < 0.01);  // runs reach 2e-4

    // The checkpoint keeps the class names; data whose folders name other classes is refused.
    const fs::path checkpoint = fs::path(c.runDirectory) / "checkpoint.safetensors";
    revnet::training::Trainer same(revnet::test::engine(), c, data);
    same.restore(checkpoint);
    CHECK(same.evaluate().loss == result.loss);
    Split renamed = data;
    renamed.train.classNames = {"blue", "purple"};
    revnet::training::Trainer other(revnet::test::engine(), c, renamed);
    CHECK_THROWS_WITH(other.restore(checkpoint), Catch::Contains("trained on the classes blue, red (2)") &&
                                                      Catch::Contains("has blue, purple (2)"));
}
