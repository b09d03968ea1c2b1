// The readers on files in each format that the tests write: good ones read back exactly; bad
// ones (truncated, wrong magic, labels out of range, sizes that disagree) are refused with the
// file, the offset and the problem.
#include "revnet/datasets/cifar_reader.hpp"
#include "revnet/datasets/data_source.hpp"
#include "revnet/datasets/idx_reader.hpp"
#include "revnet/datasets/synthetic.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sys/resource.h>

using namespace revnet::datasets;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return revnet::test::scratch("datasets", name); }

void write(const fs::path& file, const std::vector<uint8_t>& bytes, bool gzip = false) {
    if (gzip) {
        gzFile out = gzopen(file.c_str(), "wb");
        gzwrite(out, bytes.data(), unsigned(bytes.size()));
        gzclose(out);
        return;
    }
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void bigEndian(std::vector<uint8_t>& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

std::vector<uint8_t> idxImages(uint32_t n, uint32_t rows, uint32_t cols, std::vector<uint8_t> pixels) {
    std::vector<uint8_t> out;
    for (uint32_t v : {0x803u, n, rows, cols}) bigEndian(out, v);
    out.insert(out.end(), pixels.begin(), pixels.end());
    return out;
}

std::vector<uint8_t> idxLabels(std::vector<uint8_t> labels) {
    std::vector<uint8_t> out;
    for (uint32_t v : {0x801u, uint32_t(labels.size())}) bigEndian(out, v);
    out.insert(out.end(), labels.begin(), labels.end());
    return out;
}

}  // namespace

TEST_CASE("IDX files read back, plain and gzip", "[datasets]") {
    std::mt19937 random(3);
    std::vector<uint8_t> pixels(5 * 4 * 3);
    for (auto& p : pixels) p = uint8_t(random());
    for (bool gzip : {false, true}) {
        const fs::path images = scratch(gzip ? "i.gz" : "i"), labels = scratch(gzip ? "l.gz" : "l");
        write(images, idxImages(5, 4, 3, pixels), gzip);
        write(labels, idxLabels({0, 9, 3, 3, 7}), gzip);
        const Dataset d = readIdx(images, labels, 10, "test");
        CHECK(d.size() == 5);
        CHECK(d.height == 4);
        CHECK(d.width == 3);
        CHECK(d.images == pixels);
        CHECK(d.labels == std::vector<uint32_t>{0, 9, 3, 3, 7});
    }
}

TEST_CASE("bad IDX files are refused with the file, offset and problem", "[datasets]") {
    const std::vector<uint8_t> pixels(2 * 2 * 2, 7);
    const fs::path images = scratch("bad-images"), labels = scratch("bad-labels");
    write(labels, idxLabels({1, 2}));
    auto expectError = [&](const std::vector<uint8_t>& imageBytes, const std::string& text) {
        write(images, imageBytes);
        CHECK_THROWS_WITH(readIdx(images, labels, 10, "x"), Catch::Contains(images.string()) && Catch::Contains(text));
    };
    auto good = idxImages(2, 2, 2, pixels);
    expectError({good.begin(), good.end() - 3}, "truncated");
    auto wrongMagic = good;
    wrongMagic[3] = 0x01;
    expectError(wrongMagic, "magic number 0x00000801");
    expectError(idxImages(3, 2, 2, {pixels.begin(), pixels.end()}), "truncated");
    auto extra = good;
    extra.push_back(0);
    expectError(extra, "past the data");
    write(images, good);
    write(labels, idxLabels({1, 12}));
    CHECK_THROWS_WITH(readIdx(images, labels, 10, "x"), Catch::Contains("at byte 9") && Catch::Contains("label 12 out of range"));
    write(labels, idxLabels({10, 9}));  // the first label past the last class
    CHECK_THROWS_WITH(readIdx(images, labels, 10, "x"), Catch::Contains("at byte 8") && Catch::Contains("label 10 out of range"));
    write(labels, idxLabels({1}));
    CHECK_THROWS_WITH(readIdx(images, labels, 10, "x"), Catch::Contains("1 labels for 2 images"));
    std::vector<uint8_t> gz;
    write(scratch("whole.gz"), good, true);
    {
        std::ifstream in(scratch("whole.gz"), std::ios::binary);
        gz.assign(std::istreambuf_iterator<char>(in), {});
    }
    write(images, {gz.begin(), gz.begin() + std::ptrdiff_t(gz.size() / 2)});
    CHECK_THROWS_WITH(readIdx(images, labels, 10, "x"), Catch::Contains(images.string()));
}

TEST_CASE("CIFAR-10 and CIFAR-100 binary files read back and bad ones are refused", "[datasets]") {
    std::mt19937 random(5);
    const fs::path dir = scratch("cifar10");
    fs::create_directories(dir);
    std::vector<uint8_t> expectedFirst;
    for (const std::string name : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"}) {
        std::vector<uint8_t> bytes;
        for (int r = 0; r < 3; ++r) {
            bytes.push_back(uint8_t(r * 3));
            for (int i = 0; i < 3072; ++i) bytes.push_back(uint8_t(random()));
        }
        if (name == "data_batch_1") expectedFirst.assign(bytes.begin() + 1, bytes.begin() + 3073);
        write(dir / (name + ".bin"), bytes);
    }
    const Split s = loadData(dir.string());
    CHECK(s.train.size() == 15);
    CHECK(s.test.size() == 3);
    CHECK(s.train.classes == 10);
    CHECK(s.train.labels[1] == 3);
    CHECK(std::vector<uint8_t>(s.train.images.begin(), s.train.images.begin() + 3072) == expectedFirst);

    // CIFAR-100: coarse then fine label; fine by default.
    const fs::path dir100 = scratch("cifar100");
    fs::create_directories(dir100);
    std::vector<uint8_t> record{4, 77};
    record.resize(3074, 1);
    write(dir100 / "train.bin", record);
    write(dir100 / "test.bin", record);
    const Split h = loadData(dir100.string());
    CHECK(h.train.labels[0] == 77);
    CHECK(h.train.classes == 100);
    Dataset coarse;
    readCifarFile(dir100 / "train.bin", Cifar::Hundred, CifarLabels::Coarse, coarse);
    CHECK(coarse.labels[0] == 4);

    write(dir / "test_batch.bin", {record.begin(), record.begin() + 100});
    CHECK_THROWS_WITH(loadData(dir.string()), Catch::Contains("test_batch.bin") && Catch::Contains("truncated"));
    record[0] = 10;
    record.resize(3073);
    write(dir / "test_batch.bin", record);
    CHECK_THROWS_WITH(loadData(dir.string()), Catch::Contains("at byte 0") && Catch::Contains("label 10 out of range"));
    CHECK_THROWS_WITH(loadData(scratch("empty-dir").string()), Catch::Contains("not a directory"));
}

TEST_CASE("synthetic data is reproducible and its labels follow the images", "[datasets]") {
    const Dataset a = synthetic(200, 3, 16, 16, 10, 9), b = synthetic(200, 3, 16, 16, 10, 9);
    CHECK(a.images == b.images);
    CHECK(a.labels == b.labels);
    // The brightest 4x4 cell of an image names its class.
    for (std::size_t n = 0; n < 20; ++n) {
        int best = -1, bestSum = -1;
        for (int cell = 0; cell < 16; ++cell) {
            int sum = 0;
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) sum += a.images[n * 768 + (cell / 4 * 4 + y) * 16 + cell % 4 * 4 + x];
            if (sum > bestSum) bestSum = sum, best = cell;
        }
        CHECK(uint32_t(best) == a.labels[n]);
    }
}

TEST_CASE("a test set that does not fit the training set's model is refused, naming both", "[datasets]") {
    const fs::path dir = scratch("mismatch");
    fs::create_directories(dir);
    std::mt19937 random(11);
    auto images = [&](uint32_t n, uint32_t side) {
        std::vector<uint8_t> pixels(n * side * side);
        for (auto& p : pixels) p = uint8_t(random());
        return idxImages(n, side, side, pixels);
    };
    write(dir / "train-images-idx3-ubyte", images(4, 6));
    write(dir / "train-labels-idx1-ubyte", idxLabels({0, 1, 2, 3}));
    write(dir / "t10k-labels-idx1-ubyte", idxLabels({3, 2}));
    // Larger test images once overflowed the trainer's upload slots; smaller ones read garbage.
    for (uint32_t side : {7u, 5u, 28u}) {
        write(dir / "t10k-images-idx3-ubyte", images(2, side));
        CHECK_THROWS_WITH(loadData(dir.string()),
                          Catch::Contains((dir / "t10k-images-idx3-ubyte").string()) &&
                              Catch::Contains((dir / "train-images-idx3-ubyte").string()) &&
                              Catch::Contains("1x" + std::to_string(side) + "x" + std::to_string(side)) &&
                              Catch::Contains("1x6x6"));
    }
    write(dir / "t10k-images-idx3-ubyte", images(2, 6));
    CHECK(loadData(dir.string()).test.size() == 2);

    Split split{synthetic(8, 3, 8, 8, 10, 1, "a"), synthetic(8, 3, 8, 8, 100, 2, "b")};
    CHECK_THROWS_WITH(checkCompatible(split), Catch::Contains("100 classes") && Catch::Contains("10 classes"));
    split.test = synthetic(8, 1, 8, 8, 10, 2, "b");
    CHECK_THROWS_WITH(checkCompatible(split), Catch::Contains("1x8x8") && Catch::Contains("3x8x8"));
    split.test = Dataset{"empty test", "nowhere", 3, 8, 8, 10, {}, {}};
    CHECK_THROWS_WITH(checkCompatible(split), Catch::Contains("nowhere") && Catch::Contains("no images"));
    split.test = synthetic(8, 3, 8, 8, 10, 2, "b");
    CHECK_NOTHROW(checkCompatible(split));
}

TEST_CASE("IDX sizes from hostile headers: products past 64 bits and gzip bombs are refused early", "[datasets]") {
    const fs::path images = scratch("huge-images"), labels = scratch("huge-labels");
    write(labels, idxLabels({1, 2}));
    // 2^32 * 2^32 * 2^32 wraps to small numbers in 64 bits; so do 2^16 * 2^24 * 2^24.
    for (const auto& dims : {std::vector<uint32_t>{0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu},
                             std::vector<uint32_t>{1u << 16, 1u << 24, 1u << 24}, std::vector<uint32_t>{2, 1u << 31, 1u << 31}}) {
        std::vector<uint8_t> bytes;
        for (uint32_t v : {0x803u, dims[0], dims[1], dims[2]}) bigEndian(bytes, v);
        bytes.resize(bytes.size() + 64, 1);
        write(images, bytes);
        CHECK_THROWS_WITH(readIdx(images, labels, 10, "x"), Catch::Contains(images.string()) && Catch::Contains("describe more than"));
    }

    // A header promising 8 bytes, then 256 MiB of zeros: a few hundred KiB as .gz. The reader
    // stops after the promised bytes instead of inflating it all (this test runs in a process of
    // its own, so its peak resident size shows what the read cost).
    const std::size_t bomb = std::size_t{256} << 20;
    {
        gzFile out = gzopen(images.c_str(), "wb");
        const auto head = idxImages(2, 2, 2, std::vector<uint8_t>(8, 7));
        gzwrite(out, head.data(), unsigned(head.size()));
        const std::vector<uint8_t> zeros(1 << 20, 0);
        for (std::size_t written = 0; written < bomb; written += zeros.size()) gzwrite(out, zeros.data(), unsigned(zeros.size()));
        gzclose(out);
    }
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    CHECK_THROWS_WITH(readIdx(images, labels, 10, "x"), Catch::Contains("at byte 24: bytes past the data"));
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    CHECK((after.ru_maxrss - before.ru_maxrss) * 1024 < long(bomb / 4));
}

TEST_CASE("synthetic data specifications are whole numbers in range, nothing wraps", "[datasets]") {
    const auto spec = parseSynthetic("synthetic:3x17x9:12");
    REQUIRE(spec);
    CHECK(spec->channels == 3);
    CHECK(spec->height == 17);
    CHECK(spec->width == 9);
    CHECK(spec->classes == 12);
    CHECK(spec->images == 5000);
    CHECK(parseSynthetic("synthetic")->classes == 10);
    const auto counted = parseSynthetic("synthetic:1x8x8:3:7");
    REQUIRE(counted);
    CHECK(counted->images == 7);
    CHECK(counted->testImages() == 1);
    CHECK(parseSynthetic("synthetic:1x8x8:3:1000")->testImages() == 200);
    CHECK(parseSynthetic("synthetic:64x128x128:3:8192"));  // 8 GiB exactly
    for (const char* bad : {"synthetic:", "synthetic:1x8x8", "synthetic:1x8x8:", "synthetic:1x8x8:3x", "synthetic:0x8x8:3",
                            "synthetic:1x8x8:0", "synthetic:1x4294967297x8:3", "synthetic:1x-8x8:3", "synthetic:1x8x8:3 ",
                            "synthetic:65x8x8:3", "synthetic:2x1024x1024:3", "synthetic:1x8x8:100001", "synthetics",
                            "synthetic:1x8x8:3:", "synthetic:1x8x8:3:0", "synthetic:1x8x8:3:1000001", "synthetic:1x8x8:3:5:",
                            "synthetic:1x8x8:3x5", "synthetic:64x128x128:3:8193"})
        CHECK_FALSE(parseSynthetic(bad));
    CHECK_THROWS_WITH(loadData("synthetic:1x4294967297x8:3"), Catch::Contains("not 'synthetic:1x4294967297x8:3'"));
    const Split small = loadData("synthetic:1x8x8:3:12");
    CHECK(small.train.size() == 12);
    CHECK(small.test.size() == 2);
}

TEST_CASE("a dataset the program makes holds what its callback drew, and bad labels are refused", "[datasets]") {
    std::mt19937 random(std::random_device{}());
    const ImageSize size{1 + uint32_t(random() % 3), 1 + uint32_t(random() % 9), 1 + uint32_t(random() % 9)};
    const uint32_t classes = 1 + uint32_t(random() % 7);
    const std::size_t count = 1 + random() % 50;
    const std::size_t bytes = std::size_t(size.channels) * size.height * size.width;
    std::vector<std::size_t> called;
    const Dataset d = makeDataset("drawn", size, classes, count, [&](std::size_t i, std::span<uint8_t> image) {
        called.push_back(i);
        REQUIRE(image.size() == bytes);
        for (std::size_t b = 0; b < image.size(); ++b) image[b] = uint8_t(i * 31 + b);
        return uint32_t(i % classes);
    });
    std::vector<std::size_t> inOrder(count);
    std::iota(inOrder.begin(), inOrder.end(), 0);
    CHECK(called == inOrder);
    REQUIRE(d.size() == count);
    CHECK((d.channels == size.channels && d.height == size.height && d.width == size.width && d.classes == classes));
    for (std::size_t i = 0; i < count; ++i) {
        CHECK(d.labels[i] == i % classes);
        for (std::size_t b = 0; b < bytes; ++b) REQUIRE(d.images[i * bytes + b] == uint8_t(i * 31 + b));
    }
    const std::size_t bad = random() % count;
    const auto badLabel = [&](std::size_t i, std::span<uint8_t>) { return i == bad ? classes : 0u; };
    CHECK_THROWS_WITH(makeDataset("drawn", size, classes, count, badLabel),
                      "drawn: at byte " + std::to_string(bad * bytes) + ": image " + std::to_string(bad) +
                          " has label " + std::to_string(classes) + ", past the " + std::to_string(classes) + " classes");
    CHECK_THROWS_AS(makeDataset("drawn", {0, 4, 4}, classes, count, badLabel), std::invalid_argument);
    CHECK_THROWS_AS(makeDataset("drawn", size, 0, count, badLabel), std::invalid_argument);
}
