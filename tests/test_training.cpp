// Checkpoints (round trip, refusal of corrupt, truncated and foreign files, atomic writes) and
// the trainer end to end on synthetic data: the loss falls and accuracy beats chance by far,
// resuming from a mid-run checkpoint repeats the uninterrupted run's losses exactly, and a
// memory budget too small is refused before anything trains.
#include "revnet/datasets/data_source.hpp"
#include "revnet/datasets/synthetic.hpp"
#include "revnet/engine/memory_ledger.hpp"
#include "revnet/kernels/augment.hpp"
#include "reference/reference.hpp"
#include "tests/test_engine.hpp"
#include "revnet/training/run_curves.hpp"
#include "revnet/training/run_directory.hpp"
#include "revnet/training/trainer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <csignal>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

using namespace revnet;
using namespace revnet::training;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return revnet::test::scratch("training", name); }

std::vector<char> bytesOf(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void put(const fs::path& file, const std::vector<char>& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

TrainConfig smallRun(const std::string& dir) {
    TrainConfig c;
    c.model = "revnet-20";
    c.data = "synthetic:1x16x16:10";
    c.epochs = 2;
    c.batch = 50;
    c.runDirectory = dir;
    c.seed = 5;
    return c;
}

}  // namespace

TEST_CASE("checkpoints round-trip and refuse corrupt files", "[checkpoint]") {
    Checkpoint c;
    c.metadata["step"] = "12";
    c.tensors.push_back({"a.weight", {2, 3}, {1, 2, 3, 4, 5, 6}});
    c.tensors.push_back({"b", {1}, {-0.5f}});
    const fs::path file = scratch("c.safetensors");
    writeCheckpoint(file, c);
    const Checkpoint back = readCheckpoint(file);
    CHECK(back.metadata.at("step") == "12");
    CHECK(back.tensor("a.weight", file).values == c.tensors[0].values);
    CHECK(back.tensor("a.weight", file).shape == std::vector<uint32_t>{2, 3});
    for (const auto& entry : fs::directory_iterator(file.parent_path()))  // no temporary left behind
        CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);

    const auto good = bytesOf(file);
    auto corrupt = good;
    corrupt[corrupt.size() - 3] ^= 0x40;
    put(file, corrupt);
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("checksum mismatch"));
    put(file, {good.begin(), good.end() - 10});
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains(file.string()));
    put(file, {good.begin(), good.begin() + 20});
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("runs past the file's end"));
    put(file, {'x', 0, 0, 0, 0, 0, 0, 0, '{'});
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("runs past") || Catch::Contains("not valid JSON"));
    std::string text = std::string(good.begin() + 8, good.end());
    const auto at = text.find("\"format_version\":\"1\"");
    REQUIRE(at != std::string::npos);
    text[at + 18] = '7';
    put(file, std::vector<char>(good.begin(), good.begin() + 8));
    std::ofstream(file, std::ios::binary | std::ios::app) << text;
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("format version 7"));
    CHECK_THROWS_WITH(readCheckpoint(scratch("missing.safetensors")), Catch::Contains("cannot open"));
}

namespace {

// A checkpoint file written by hand: `tensors` is the JSON of each tensor's entry, the payload
// is `payloadBytes` zero bytes, and the checksum is right, so only the ranges can be wrong.
void handWritten(const fs::path& file, nlohmann::json tensors, std::size_t payloadBytes) {
    const std::vector<char> payload(payloadBytes, 0);
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08lx", crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()), uInt(payloadBytes)));
    tensors["__metadata__"] = {{"format", kCheckpointFormat}, {"format_version", "1"}, {"payload_crc32", crc}};
    const std::string header = tensors.dump();
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes += char(uint64_t(header.size()) >> (8 * i));
    bytes += header + std::string(payload.begin(), payload.end());
    put(file, {bytes.begin(), bytes.end()});
}

nlohmann::json entry(std::vector<uint64_t> shape, uint64_t begin, uint64_t end) {
    return {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, end}}};
}

}  // namespace

TEST_CASE("checkpoint shapes and byte ranges from hostile headers are refused", "[checkpoint]") {
    const fs::path file = scratch("hostile.safetensors");
    handWritten(file, {{"a", entry({2}, 0, 8)}, {"b", entry({1}, 8, 12)}}, 12);
    CHECK(readCheckpoint(file).tensors.size() == 2);  // the writer is right before anything is wrong
    // 4 bytes * 2^31 * 2^31 * 4 wraps to 0 in 64 bits: an empty range "matches".
    handWritten(file, {{"a", entry({1u << 31, 1u << 31, 4}, 0, 0)}}, 0);
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("more than 2^64 bytes"));
    handWritten(file, {{"a", entry({2}, 0, 8)}, {"b", entry({2}, 0, 8)}}, 8);
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("overlaps"));
    handWritten(file, {{"a", entry({2}, 0, 8)}, {"b", entry({2}, 4, 12)}}, 12);
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("b: byte range starts at 4, not 8 (overlap)"));
    handWritten(file, {{"a", entry({1}, 0, 4)}, {"b", entry({1}, 8, 12)}}, 12);
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("(gap)"));
    handWritten(file, {{"a", entry({1}, 0, 4)}}, 12);
    CHECK_THROWS_WITH(readCheckpoint(file), Catch::Contains("8 bytes past the last tensor"));
    CHECK_THROWS_WITH(readCheckpoint("/dev/zero"), Catch::Contains("/dev/zero: not a regular file"));
}

TEST_CASE("checkpoints replace only regular files, and a failed save leaves the old one and no temporary", "[checkpoint]") {
    Checkpoint c;
    c.tensors.push_back({"w", {4}, {1, 2, 3, 4}});
    const fs::path dir = scratch("replace");
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path target = dir / "target", link = dir / "link.safetensors";
    put(target, {'k', 'e', 'e', 'p'});
    fs::create_symlink(target, link);
    CHECK_THROWS_WITH(writeCheckpoint(link, c), Catch::Contains("not a regular file"));
    CHECK(fs::is_symlink(link));
    CHECK(bytesOf(target) == std::vector<char>{'k', 'e', 'e', 'p'});
    fs::create_directories(dir / "a-directory");
    CHECK_THROWS_WITH(writeCheckpoint(dir / "a-directory", c), Catch::Contains("not a regular file"));

    // A full disk, injected: writes past 64 KiB fail (EFBIG) as on a full file system.
    const fs::path file = dir / "c.safetensors";
    writeCheckpoint(file, c);
    const auto good = bytesOf(file);
    c.tensors.push_back({"big", {65536}, std::vector<float>(65536, 1.0f)});
    rlimit old{};
    getrlimit(RLIMIT_FSIZE, &old);
    const auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 65536;
    setrlimit(RLIMIT_FSIZE, &small);
    CHECK_THROWS_WITH(writeCheckpoint(file, c), Catch::Contains("disk full"));
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, oldHandler);
    CHECK(bytesOf(file) == good);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"a-directory", "c.safetensors", "link.safetensors", "target"});
}

TEST_CASE("training on synthetic data learns, and resuming repeats the run exactly", "[training]") {
    Engine& e = test::engine();
    const datasets::Split data = datasets::loadData("synthetic:1x16x16:10:2500");
    const std::string dirA = scratch("run-a").string(), dirB = scratch("run-b").string();
    std::vector<double> uninterrupted;
    {
        Trainer a(e, smallRun(dirA), data);
        CHECK(a.run() == Trainer::End::Finished);
        uninterrupted = a.stepLosses();
        const auto& l = uninterrupted;
        const double first = std::accumulate(l.begin(), l.begin() + 10, 0.0) / 10;
        const double last = std::accumulate(l.end() - 10, l.end(), 0.0) / 10;
        INFO("first 10 steps " << first << ", last 10 " << last);
        CHECK(last < 0.01 * first);  // runs reach 0.005 of it
        CHECK(a.evaluate().accuracy >= 0.99);  // runs reach 100%; chance is 10%
        CHECK(fs::exists(fs::path(dirA) / "metrics.csv"));
        CHECK(fs::exists(fs::path(dirA) / "curves.svg"));
        CHECK(readMetrics(fs::path(dirA) / "metrics.csv").size() == smallRun(dirA).epochs);
    }
    const fs::path checkpoint = fs::path(dirB) / "checkpoint.safetensors";
    {
        Trainer b(e, smallRun(dirB), data);
        // Stops mid-epoch 2 (50 steps an epoch) with a checkpoint.
        CHECK(b.run({.stop = [](uint64_t step) { return step >= 65; }}) == Trainer::End::Stopped);
    }
    // As if the run had gone on and written epoch 2's row, then failed to save its checkpoint:
    // the resumed run must not keep that row beside its own.
    std::ofstream(fs::path(dirB) / "metrics.csv", std::ios::app) << "100,2,0.1,9,9,9,9,9,9\n";
    Trainer c(e, smallRun(dirB), data);
    c.restore(checkpoint);
    CHECK(c.step() == 65);
    CHECK(c.run() == Trainer::End::Finished);
    REQUIRE(c.stepLosses().size() == uninterrupted.size() - 65);
    for (std::size_t i = 0; i < c.stepLosses().size(); ++i) CHECK(c.stepLosses()[i] == uninterrupted[65 + i]);
    // The metrics files agree row for row, but for speed and peak memory (the resumed process
    // has its own): the resumed epoch's training means include the steps before the stop.
    auto rows = [](const std::string& dir) {
        std::ifstream in(fs::path(dir) / "metrics.csv");
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) {
            std::size_t cut = line.size();
            for (int commas = 0; commas < 2; ++commas) cut = line.rfind(',', cut - 1);
            out.push_back(line.substr(0, cut));
        }
        return out;
    };
    CHECK(rows(dirA).size() == 3);
    CHECK(rows(dirB) == rows(dirA));
    // Each row's rate is its epoch's last step's: step 49 before the drop at 50 (0.5 of 100
    // steps); step 99 after both drops (0.75 of 100 is 75).
    for (const auto& [row, rate] : {std::pair{1, 0.1}, std::pair{2, 0.001}}) {
        std::stringstream fields(rows(dirA)[row]);
        std::string step, epoch, lr;
        std::getline(fields, step, ',');
        std::getline(fields, epoch, ',');
        std::getline(fields, lr, ',');
        CHECK(std::stod(lr) == Approx(rate).epsilon(1e-6));
    }
    // A model restored from the last checkpoint evaluates exactly as the run that wrote it: the
    // weights and the running statistics come back.
    const EvalResult last = c.evaluate();
    Trainer restored(e, smallRun(dirB), data);
    restored.restore(checkpoint);
    const EvalResult again = restored.evaluate();
    CHECK(again.loss == last.loss);
    CHECK(again.accuracy == last.accuracy);
    // So does an inference-only network made from the checkpoint (`revnet eval`), holding less.
    const uint64_t before = e.memory().ledger().total();
    const EvalResult inference = evaluateCheckpoint(e, readCheckpoint(checkpoint), checkpoint, data);
    CHECK(inference.loss == last.loss);
    CHECK(inference.accuracy == last.accuracy);
    CHECK(inference.samples == last.samples);
    CHECK(e.memory().ledger().total() == before);  // everything it made is released

    // Tensors take PyTorch's shapes: convolutions (O, I, k, k), the classifier (O, I), vectors (C).
    const Checkpoint saved = readCheckpoint(checkpoint);
    CHECK(saved.tensor("stem.conv.weight", checkpoint).shape == std::vector<uint32_t>{16, 1, 3, 3});
    CHECK(saved.tensor("stem.bn.weight", checkpoint).shape == std::vector<uint32_t>{16});
    CHECK(saved.tensor("head.fc.weight", checkpoint).shape == std::vector<uint32_t>{10, 64});
    CHECK(saved.tensor("head.fc.bias", checkpoint).shape == std::vector<uint32_t>{10});
    CHECK(saved.tensor("optimizer.momentum.head.fc.weight", checkpoint).shape == std::vector<uint32_t>{10, 64});
    CHECK(saved.tensor("head.bn.running_var", checkpoint).shape == std::vector<uint32_t>{64});
    // Checkpoints written before, with the network's 4-D shapes, still restore.
    Checkpoint legacy = saved;
    for (auto& t : legacy.tensors) {
        if (t.name.ends_with("running_mean") || t.name.ends_with("running_var")) continue;
        if (t.shape.size() == 1) t.shape = {1, 1, 1, t.shape[0]};
        if (t.shape.size() == 2) t.shape = {t.shape[0], t.shape[1], 1, 1};
    }
    const fs::path legacyFile = scratch("legacy.safetensors");
    writeCheckpoint(legacyFile, legacy);
    Trainer fromLegacy(e, smallRun(dirB), data);
    fromLegacy.restore(legacyFile);
    CHECK(fromLegacy.evaluate().loss == last.loss);

    TrainConfig other = smallRun(dirB);
    other.seed = 6;
    Trainer d(e, other, data);
    CHECK_THROWS_WITH(d.restore(checkpoint), Catch::Contains("seed 5"));
}

// Half-precision storage changes a step's gradients by rounding (tests/test_network.cpp), so two
// runs part slowly; over the first steps, while the loss falls 2.3 -> 1.4, they must stay within 5%.
// Stored backprop: every kept tensor is halves. Measured: at most 0.9% apart (2026-12-01).
TEST_CASE("fp16 storage trains along fp32 storage over the first steps", "[training][fp16]") {
    Engine& e = test::engine();
    const datasets::Split data = datasets::loadData("synthetic:1x16x16:10:1000");
    std::vector<double> losses[2];
    for (const std::string precision : {"fp32", "fp16"}) {
        TrainConfig c = smallRun(scratch("run-" + precision).string());
        c.backprop = models::Backprop::Stored;
        c.precision = precision;
        Trainer t(e, c, data);
        CHECK(t.run({.stop = [](uint64_t step) { return step >= 15; }}) == Trainer::End::Stopped);
        CHECK((t.network().options().precision == models::Precision::Float16) == (precision == "fp16"));
        losses[precision == "fp16"] = t.stepLosses();
    }
    REQUIRE(losses[0].size() == 15);
    REQUIRE(losses[1].size() == 15);
    CHECK(losses[1][14] < 0.7 * losses[1][0]);  // it learns
    for (std::size_t i = 0; i < 15; ++i) {
        INFO("step " << i + 1 << ": fp32 " << losses[0][i] << ", fp16 " << losses[1][i]);
        CHECK(losses[1][i] == Approx(losses[0][i]).epsilon(0.05));
    }
}

TEST_CASE("a memory budget that cannot hold the run is refused before training", "[training]") {
    EngineOptions o = test::options();
    o.budget = 1 << 20;
    Engine e(o);
    const datasets::Split data = datasets::loadData("synthetic:1x16x16:10");
    CHECK_THROWS_AS(Trainer(e, smallRun(scratch("run-c").string()), data), BudgetExceeded);
    test::countValidation(e);
}

TEST_CASE("the training plan is exact: its figure fits, a byte less does not", "[training]") {
    const datasets::Split data = datasets::loadData("synthetic:1x16x16:10");
    const TrainConfig config = smallRun(scratch("run-plan").string());
    uint64_t planned = 0;
    {
        Engine probe(test::options());
        planned = plannedTrainingBytes(probe, config, 1, 16, 16, 10);
        CHECK(largestBatchWithin(probe, config, 1, 16, 16, 10, planned) == config.batch);
        CHECK(largestBatchWithin(probe, config, 1, 16, 16, 10, 1024) == 0);
        test::countValidation(probe);
    }
    for (uint64_t budget : {planned, planned - 1}) {
        EngineOptions o = test::options();
        o.budget = budget;
        Engine e(o);
        if (budget == planned) {
            Trainer t(e, config, data);
            CHECK(t.run({.stop = [](uint64_t) { return true; }}) == Trainer::End::Stopped);
            CHECK(e.memory().ledger().peakTotal() == planned);
        } else {
            CHECK_THROWS_AS(Trainer(e, config, data), BudgetExceeded);
        }
        test::countValidation(e);
    }
}

TEST_CASE("the learning rate drops by the decay factor at each milestone fraction of the run", "[training]") {
    // Written out by hand for 3 epochs of 7 steps: drops after 50% and 75% of the 21 steps, at
    // steps 10.5 -> 11 and 15.75 -> 16; a third schedule with one milestone and a factor of 0.5.
    TrainConfig c;
    c.lr = 0.2f;
    c.milestones = {0.5f, 0.75f};
    c.lrDecay = 0.1f;
    const std::vector<float> expected = {0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,
                                         0.02f, 0.02f, 0.02f, 0.02f, 0.02f, 0.002f, 0.002f, 0.002f, 0.002f, 0.002f};
    for (uint64_t step = 0; step < expected.size(); ++step) {
        INFO("step " << step);
        CHECK(c.learningRate(step, 21) == Approx(expected[step]).epsilon(1e-6));
    }
    c.milestones = {0.3f};
    c.lrDecay = 0.5f;
    CHECK(c.learningRate(2, 10) == Approx(0.2f));
    CHECK(c.learningRate(3, 10) == Approx(0.1f));
    CHECK(c.learningRate(9, 10) == Approx(0.1f));
}

TEST_CASE("a run directory is refused when it holds another run, locked while in use, and cleared of killed saves",
          "[run-directory]") {
    const fs::path dir = scratch("locked-run");
    fs::remove_all(dir);
    {
        const RunDirectory first(dir, RunMode::New);  // created
        CHECK(fs::is_directory(dir));
        // One run at a time, whatever the second one asks for.
        for (RunMode mode : {RunMode::New, RunMode::Resume, RunMode::Overwrite})
            CHECK_THROWS_WITH(RunDirectory(dir, mode), Catch::Contains("another run is using the run directory " + dir.string()));
        put(dir / RunDirectory::kMetrics, {'s', '\n'});
    }
    // Released with the first; a new run is refused what a previous run left.
    CHECK_THROWS_WITH(RunDirectory(dir, RunMode::New), Catch::Contains("not empty") && Catch::Contains("metrics.csv") &&
                                                           Catch::Contains("--resume") && Catch::Contains("--overwrite"));
    put(dir / RunDirectory::kCheckpoint, {'c'});
    put(dir / (std::string(RunDirectory::kCheckpoint) + kTemporarySuffix + "4242"), {'t'});
    put(dir / "notes.txt", {'n'});
    {
        const RunDirectory resumed(dir, RunMode::Resume);
        CHECK(fs::exists(dir / RunDirectory::kCheckpoint));
        CHECK(fs::exists(dir / RunDirectory::kMetrics));
        CHECK_FALSE(fs::exists(dir / (std::string(RunDirectory::kCheckpoint) + kTemporarySuffix + "4242")));
    }
    {
        const RunDirectory replaced(dir, RunMode::Overwrite);
        CHECK_FALSE(fs::exists(dir / RunDirectory::kCheckpoint));
        CHECK_FALSE(fs::exists(dir / RunDirectory::kMetrics));
        CHECK(fs::exists(dir / "notes.txt"));  // only the run's own files go
    }
    CHECK_THROWS_WITH(RunDirectory(dir, RunMode::New), Catch::Contains("notes.txt"));
    // Unwritable (even for root) fails at once, not after an epoch.
    CHECK_THROWS_WITH(RunDirectory("/proc/self", RunMode::Resume), Catch::Contains("cannot write into the run directory /proc/self"));
    CHECK_THROWS_WITH(RunDirectory(dir / "notes.txt", RunMode::New), Catch::Contains("cannot create"));

    // Default names stay distinct within one second.
    const fs::path parent = scratch("unique-runs");
    fs::remove_all(parent);
    std::vector<fs::path> made;
    for (int i = 0; i < 4; ++i) made.push_back(RunDirectory::createUnique(parent, "revnet-20"));
    std::sort(made.begin(), made.end());
    CHECK(std::unique(made.begin(), made.end()) == made.end());
    for (const auto& p : made) CHECK(fs::is_directory(p));
}

TEST_CASE("the trainer refuses a test set its model cannot take", "[training]") {
    Engine& e = test::engine();
    datasets::Split data = datasets::loadData("synthetic:1x16x16:10");
    data.test = datasets::loadData("synthetic:1x20x20:10").test;  // past the upload slots' size
    CHECK_THROWS_WITH(Trainer(e, smallRun(scratch("run-mismatch").string()), data),
                      Catch::Contains("1x20x20") && Catch::Contains("1x16x16"));
    data.test.images.clear();
    data.test.labels.clear();
    CHECK_THROWS_WITH(Trainer(e, smallRun(scratch("run-mismatch").string()), data), Catch::Contains("no images"));
}

namespace {

// The trainer's documented order for an epoch (trainer.hpp), written out here.
std::vector<uint32_t> documentedOrder(std::size_t n, uint64_t seed, uint32_t epoch) {
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::mt19937_64 random(seed * 0x9E3779B97F4A7C15ull + epoch);
    std::shuffle(order.begin(), order.end(), random);
    return order;
}

}  // namespace

TEST_CASE("each epoch trains on a new permutation of the data, cropped and flipped by the step's draws", "[training]") {
    Engine& e = test::engine();
    // Colour 32x32 images: crops after 4-pixel padding and flips are on by default.
    datasets::Split data{datasets::synthetic(200, 3, 32, 32, 10, 21, "train"), datasets::synthetic(40, 3, 32, 32, 10, 22, "test")};
    TrainConfig config = smallRun(scratch("run-order").string());
    config.seed = test::freshRandom()() % 1000 + 1;
    fs::remove_all(config.runDirectory);
    Trainer trainer(e, config, data);  // 4 steps an epoch
    const uint32_t c = 3, h = 32, w = 32, batch = config.batch;
    const std::size_t plane = std::size_t(h) * w, imageBytes = c * plane;
    std::vector<double> mean(c), deviation(c);
    for (uint32_t k = 0; k < c; ++k) {
        double sum = 0, squares = 0;
        for (std::size_t n = 0; n < data.train.size(); ++n)
            for (std::size_t i = 0; i < plane; ++i) {
                const double v = data.train.images[n * imageBytes + k * plane + i] / 255.0;
                sum += v, squares += v * v;
            }
        const double count = double(data.train.size()) * plane;
        mean[k] = sum / count;
        deviation[k] = std::sqrt(squares / count - mean[k] * mean[k]);
    }
    // Stop after steps 3 (epoch 0, batch 2) and 6 (epoch 1, batch 1): the last batch is still in place.
    for (const uint64_t stopAt : {3u, 6u}) {
        CHECK(trainer.run({.stop = [&](uint64_t step) { return step >= stopAt; }}) == Trainer::End::Stopped);
        const uint32_t step = uint32_t(stopAt - 1), epoch = step / 4, first = step % 4 * batch;
        INFO("step " << step << ", seed " << config.seed);
        const auto order = documentedOrder(data.train.size(), config.seed, epoch);
        const kernels::AugmentOptions augment{4, true, config.seed, 0};
        ref::Values expected(std::size_t(batch) * imageBytes);
        std::vector<uint32_t> labels;
        for (uint32_t n = 0; n < batch; ++n) {
            const uint32_t at = order[first + n];
            labels.push_back(data.train.labels[at]);
            const auto d = kernels::augmentDraw(augment, step, n);
            for (uint32_t k = 0; k < c; ++k)
                for (uint32_t y = 0; y < h; ++y)
                    for (uint32_t x = 0; x < w; ++x) {
                        const int sx = int(d.flip ? w - 1 - x : x) + d.dx, sy = int(y) + d.dy;
                        const bool inside = sx >= 0 && sy >= 0 && sx < int(w) && sy < int(h);
                        const double raw = inside ? data.train.images[at * imageBytes + (k * h + sy) * w + sx] / 255.0 : 0.0;
                        expected[n * imageBytes + (k * h + y) * w + x] = (raw - mean[k]) / deviation[k];
                    }
        }
        const auto got = e.download(trainer.network().input());
        const ref::Error error = ref::compare(std::span(got).first(expected.size()), expected);
        INFO("batch input: relative L2 " << error.relativeL2 << ", max " << error.relativeMax << " at " << error.worst);
        CHECK(error.relativeL2 < 1e-5);
        const auto labelWords = e.download(trainer.network().labels());
        std::vector<uint32_t> gotLabels(batch);
        std::memcpy(gotLabels.data(), labelWords.data(), batch * sizeof(uint32_t));
        CHECK(gotLabels == labels);
    }
    // The orders themselves: permutations, a new one every epoch and for every seed.
    const auto a = documentedOrder(200, config.seed, 0), b = documentedOrder(200, config.seed, 1);
    CHECK(a != b);
    CHECK(a != documentedOrder(200, config.seed + 1, 0));
    auto sorted = a;
    std::sort(sorted.begin(), sorted.end());
    for (uint32_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == i);

}

TEST_CASE("evaluation counts every test image once, a partial last batch included, with running statistics",
          "[training]") {
    Engine& e = test::engine();
    datasets::Split data = datasets::loadData("synthetic:1x16x16:10");
    TrainConfig config = smallRun(scratch("run-eval").string());
    config.batch = 64;
    fs::remove_all(config.runDirectory);
    Trainer trainer(e, config, data);
    trainer.run({.stop = [](uint64_t step) { return step >= 25; }});  // running statistics of real batches
    const datasets::Dataset all = data.test;                // 1000 images: 15 batches of 64 and 40 more
    auto subset = [&](std::size_t from, std::size_t count, std::size_t repeat) {
        datasets::Dataset d = all;
        d.images.clear();
        d.labels.clear();
        for (std::size_t r = 0; r < repeat; ++r)
            for (std::size_t i = from; i < from + count; ++i) {
                d.images.insert(d.images.end(), all.images.begin() + i * all.imageBytes(), all.images.begin() + (i + 1) * all.imageBytes());
                d.labels.push_back(all.labels[i]);
            }
        return d;
    };
    // The trainer reads its split by reference: the test set can be swapped between evaluations.
    const EvalResult whole = trainer.evaluate();
    CHECK(whole.samples == 1000);
    data.test = subset(0, 960, 1);  // whole batches only
    const EvalResult head = trainer.evaluate();
    data.test = subset(960, 40, 1);  // one partial batch
    const EvalResult tail = trainer.evaluate();
    INFO("whole " << whole.loss << " / " << whole.accuracy << "; head " << head.loss << " / " << head.accuracy << "; tail "
                  << tail.loss << " / " << tail.accuracy);
    CHECK(std::round(whole.accuracy * 1000) == std::round(head.accuracy * 960) + std::round(tail.accuracy * 40));
    CHECK(whole.loss * 1000 == Approx(head.loss * 960 + tail.loss * 40).epsilon(1e-5));
    // In inference a sample's result does not depend on its batch: the tail repeated to fill
    // batches, or the whole set in another order, gives the same means (batch statistics would not).
    data.test = subset(960, 40, 8);
    const EvalResult repeated = trainer.evaluate();
    CHECK(repeated.loss == Approx(tail.loss).epsilon(1e-5));
    CHECK(repeated.accuracy == Approx(tail.accuracy).epsilon(1e-9));
    data.test = all;
    std::vector<uint32_t> order(1000);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(), std::mt19937(4));
    for (std::size_t i = 0; i < 1000; ++i) {
        std::copy_n(all.images.begin() + order[i] * all.imageBytes(), all.imageBytes(), data.test.images.begin() + i * all.imageBytes());
        data.test.labels[i] = all.labels[order[i]];
    }
    const EvalResult shuffled = trainer.evaluate();
    CHECK(shuffled.loss == Approx(whole.loss).epsilon(1e-5));
    CHECK(shuffled.accuracy == Approx(whole.accuracy).epsilon(1e-9));
}
