// Image files and image folders, written by the tests with the same libraries (libpng,
// libjpeg-turbo): decoded pixels against the values written, every colour model brought to RGB,
// resizing and cropping against hand-computed pixels, hostile files refused by name, a folder
// listed into a dataset with its mistakes refused, streamed (centre crops for evaluation, random
// crops that do not depend on the threads for training, bad files named and replaced), and
// trained on by a model with the ImageNet stem.
#include "revnet/datasets/data_source.hpp"
#include "revnet/datasets/image_decoder.hpp"
#include "revnet/datasets/image_folder.hpp"
#include "revnet/datasets/image_resize.hpp"
#include "revnet/datasets/image_stream.hpp"
#include "tests/test_engine.hpp"
#include "revnet/training/normalization.hpp"
#include "revnet/training/trainer.hpp"

#include <catch2/catch.hpp>
#include <png.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

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

TEST_CASE("an image folder lists into a dataset: sorted classes, mistakes refused", "[images]") {
    auto random = revnet::test::freshRandom();
    const fs::path root = colourFolder("folder", 5, 40, random);
    write(root / "train" / "red" / "notes.txt", {'h', 'i'});                      // not an image: ignored
    write(root / "train" / "blue" / "zz-corrupt.jpg", randomBytes(300, random));  // listed; the stream finds it out
    const Split split = loadData(root.string(), ImageSize{3, 16, 16});
    CHECK(split.train.size() == 11);
    CHECK(split.test.size() == 10);
    CHECK(split.train.streamed());
    CHECK(split.train.images.empty());
    CHECK(split.train.classes == 2);
    CHECK(split.train.classNames == std::vector<std::string>{"blue", "red"});
    CHECK(split.train.height == 16);
    for (std::size_t n = 0; n < split.train.size(); ++n)
        CHECK(split.train.labels[n] == (split.train.files[n].parent_path().filename() == "red" ? 1u : 0u));

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

namespace {

std::vector<uint32_t> shuffled(std::size_t n, std::mt19937& random) {
    std::vector<uint32_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = uint32_t(i);
    std::shuffle(order.begin(), order.end(), random);
    return order;
}

// Every batch of a pass, concatenated: images, then labels, then presence.
std::vector<uint8_t> wholePass(ImageStream& stream, const std::vector<uint32_t>& order, std::size_t batch,
                               std::size_t first, std::size_t batches, uint64_t key, const Dataset& d) {
    stream.start(order, batch, first, batches, key);
    std::vector<uint8_t> out;
    for (std::size_t b = 0; b < batches; ++b) {
        const StreamedBatch got = stream.next();
        out.insert(out.end(), got.images, got.images + batch * d.imageBytes());
        for (std::size_t i = 0; i < batch; ++i) out.push_back(uint8_t(got.labels[i])), out.push_back(got.present[i]);
    }
    return out;
}

}  // namespace

TEST_CASE("an image stream decodes ahead: centre crops to evaluate, the same random crops whatever the threads", "[images]") {
    auto random = revnet::test::freshRandom();
    const fs::path root = colourFolder("stream", 6, 48, random);
    write(root / "train" / "blue" / "zz-corrupt.jpg", randomBytes(300, random));
    const Split split = loadData(root.string(), ImageSize{3, 16, 16});
    const Dataset& train = split.train;
    REQUIRE(train.size() == 13);
    const std::size_t corrupt = 6;  // blue's files sort first; the corrupt one last among them
    REQUIRE(train.files[corrupt].filename() == "zz-corrupt.jpg");

    // Evaluation: each file's centre crop, as resizeCenterCrop gives it from the decoded file;
    // the corrupt file is marked missing and named; positions past the order's end are empty.
    std::vector<uint32_t> order(train.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = uint32_t(i);
    ImageStream evaluation(train, ImageStream::Mode::Evaluate, 2, 2);
    evaluation.start(order, 5, 0, 3, 0);
    for (std::size_t b = 0; b < 3; ++b) {
        const StreamedBatch got = evaluation.next();
        for (std::size_t i = 0; i < 5; ++i) {
            const std::size_t p = b * 5 + i;
            INFO("position " << p);
            if (p >= train.size() || p == corrupt) {
                CHECK_FALSE(got.present[i]);
                continue;
            }
            REQUIRE(got.present[i]);
            CHECK(got.labels[i] == train.labels[p]);
            std::vector<uint8_t> expected(train.imageBytes());
            resizeCenterCrop(readImage(train.files[p], resizedShortSide(16, 16)), 3, 16, 16, expected.data());
            CHECK(std::equal(expected.begin(), expected.end(), got.images + i * train.imageBytes()));
        }
    }
    REQUIRE(evaluation.failures().size() == 1);
    CHECK_THAT(evaluation.failures()[0], Catch::Contains("zz-corrupt.jpg"));
    CHECK(evaluation.throughput().images == 12);

    // Training: a pass depends on its key and order only, not on the threads or the queue's depth;
    // the corrupt file is replaced (every position present, the failure named); another key crops
    // elsewhere; a pass started mid-way gives the same later batches.
    const auto order2 = shuffled(train.size(), random);
    ImageStream one(train, ImageStream::Mode::Train, 1, 2), two(train, ImageStream::Mode::Train, 2, 4);
    const auto a = wholePass(one, order2, 4, 0, 3, 7, train), b = wholePass(two, order2, 4, 0, 3, 7, train);
    CHECK(a == b);
    const std::size_t imageBytes = 4 * train.imageBytes();
    for (std::size_t batch = 0; batch < 3; ++batch)
        for (std::size_t i = 0; i < 4; ++i) CHECK(a[batch * (imageBytes + 8) + imageBytes + 2 * i + 1] == 1);
    const bool corruptUsed = std::find(order2.begin(), order2.begin() + 12, corrupt) != order2.begin() + 12;
    CHECK(one.failures().size() == (corruptUsed ? 1u : 0u));
    CHECK(wholePass(two, order2, 4, 0, 3, 8, train) != a);
    const auto later = wholePass(one, order2, 4, 1, 2, 7, train);
    CHECK(std::equal(later.begin(), later.end(), a.begin() + (imageBytes + 8)));
    // A pass dropped half-way leaves nothing behind.
    two.start(order2, 4, 0, 3, 9);
    (void)two.next();
    CHECK(wholePass(two, order2, 4, 0, 3, 7, train) == a);
}

TEST_CASE("training crops vary in scale and place, and half of them are mirrored", "[images]") {
    // One image whose brightness rises left to right, streamed 200 times over: a mirrored crop
    // falls to the right, a plain one rises; crops of other sizes and places span other ranges.
    auto random = revnet::test::freshRandom();
    const fs::path root = scratch("gradient");
    fs::remove_all(root);
    std::vector<uint8_t> grey(96 * 96);
    for (std::size_t p = 0; p < grey.size(); ++p) grey[p] = uint8_t(p % 96 * 2 + 40);
    for (const char* set : {"train", "val"}) write(root / set / "a" / "x.png", png(96, 96, PNG_FORMAT_GRAY, grey));
    const Split split = loadData(root.string(), ImageSize{1, 16, 16});
    const std::vector<uint32_t> order(200, 0);
    ImageStream stream(split.train, ImageStream::Mode::Train, 2);
    stream.start(order, 200, 0, 1, random());
    const StreamedBatch got = stream.next();
    std::size_t mirrored = 0;
    std::set<int> spans;
    for (std::size_t i = 0; i < 200; ++i) {
        const uint8_t* image = got.images + i * 256;
        const int span = int(image[8 * 16 + 15]) - int(image[8 * 16]);  // middle row: right minus left
        REQUIRE(span != 0);
        mirrored += span < 0;
        spans.insert(std::abs(span));
    }
    INFO(mirrored << " of 200 mirrored, " << spans.size() << " different spans");
    CHECK(mirrored >= 70);  // binomial(200, 1/2): outside 70-130 once in 10^5
    CHECK(mirrored <= 130);
    CHECK(spans.size() >= 20);
}

TEST_CASE("random-resized crops stay inside the image at 8-100% of its area and ratios 3/4-4/3; mirroring flips", "[images]") {
    auto random = revnet::test::freshRandom();
    std::mt19937_64 random64{random()};
    for (int draw = 0; draw < 2000; ++draw) {
        const uint32_t h = 1 + random() % 600, w = 1 + random() % 600;
        const CropBox box = randomResizedBox(h, w, random64);
        INFO(h << "x" << w << ": " << box.top << " " << box.left << " " << box.height << "x" << box.width);
        CHECK(box.top >= -1e-9);
        CHECK(box.left >= -1e-9);
        CHECK(box.top + box.height <= h + 1e-9);
        CHECK(box.left + box.width <= w + 1e-9);
        const double ratio = box.width / box.height;
        CHECK(ratio >= 0.75 - 1e-9);
        CHECK(ratio <= 4.0 / 3 + 1e-9);
        const double share = box.height * box.width / (double(h) * w);
        CHECK(share <= 1 + 1e-9);
        // Within bounds the draw is kept; an image too narrow for any allowed ratio gets the
        // largest centred box of the nearest ratio, which covers less.
        if (double(w) / h >= 0.75 && double(w) / h <= 4.0 / 3) CHECK(share >= 0.08 - 1e-9);
    }
    // A mirrored resize is the plain one with its columns reversed.
    RgbImage image{20, 30, randomBytes(20 * 30 * 3, random)};
    const CropBox box{2.5, 3.25, 12, 17};
    std::vector<uint8_t> plain(3 * 8 * 8), mirrored(3 * 8 * 8);
    resizeBox(image, box, 3, 8, 8, false, plain.data());
    resizeBox(image, box, 3, 8, 8, true, mirrored.data());
    for (std::size_t row = 0; row < 3 * 8; ++row)
        for (std::size_t x = 0; x < 8; ++x) CHECK(mirrored[row * 8 + x] == plain[row * 8 + 7 - x]);
}

TEST_CASE("normalization: ImageNet's statistics, measured ones, given ones, mistakes named", "[images]") {
    using revnet::training::normalizationOf;
    auto random = revnet::test::freshRandom();
    const fs::path root = colourFolder("normalize", 4, 24, random);
    const Split split = loadData(root.string(), ImageSize{3, 16, 16});
    const auto imagenet = normalizationOf("", split.train);  // image folders: ImageNet's by default
    CHECK(imagenet == std::vector<float>{0.485f, 0.456f, 0.406f, 0.229f, 0.224f, 0.225f});
    const Split grey = loadData(root.string(), ImageSize{1, 16, 16});
    CHECK(normalizationOf("imagenet", grey.train)[0] == Approx(0.299 * 0.485 + 0.587 * 0.456 + 0.114 * 0.406));
    // Measured on the folder's centre crops: half red (150-209), half blue, green noise 0-59.
    const auto measured = normalizationOf("data", split.train);
    REQUIRE(measured.size() == 6);
    CHECK(measured[0] == Approx((179.5 + 29.5) / 2 / 255).margin(0.03));
    CHECK(measured[1] == Approx(29.5 / 255).margin(0.03));
    CHECK(measured[2] == Approx((179.5 + 29.5) / 2 / 255).margin(0.03));
    CHECK(measured[3] == Approx(0.31).margin(0.04));  // two clusters 150 apart: sd ~ 75/255
    CHECK(normalizationOf("0.5,0.4,0.3/0.2,0.25,1", split.train) == std::vector<float>{0.5f, 0.4f, 0.3f, 0.2f, 0.25f, 1.0f});
    CHECK_THROWS_WITH(normalizationOf("0.5,0.4/0.2,0.25", split.train), Catch::Contains("3 channels"));
    CHECK_THROWS_WITH(normalizationOf("0.5,0.4,x/0.2,0.25,1", split.train), Catch::Contains("'x' is not a number"));
    CHECK_THROWS_WITH(normalizationOf("0.5,0.4,0.3/0.2,0,1", split.train), Catch::Contains("must be positive"));
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
