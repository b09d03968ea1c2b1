// Checkpoints (round trip, refusal of corrupt, truncated and foreign files, atomic writes) and
// the trainer end to end on synthetic data: the loss falls and accuracy beats chance by far,
// resuming from a mid-run checkpoint repeats the uninterrupted run's losses exactly, and a
// memory budget too small is refused before anything trains.
#include "datasets/data_source.hpp"
#include "engine/memory_ledger.hpp"
#include "tests/test_engine.hpp"
#include "training/trainer.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <numeric>

using namespace revnet;
using namespace revnet::training;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("revnet-training-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

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

TEST_CASE("training on synthetic data learns, and resuming repeats the run exactly", "[training]") {
    Engine& e = test::engine();
    const datasets::Split data = datasets::loadData("synthetic:1x16x16:10");
    const std::string dirA = scratch("run-a").string(), dirB = scratch("run-b").string();
    std::vector<double> uninterrupted;
    {
        Trainer a(e, smallRun(dirA), data);
        CHECK(a.run() == 0);
        uninterrupted = a.stepLosses();
        const auto& l = uninterrupted;
        const double first = std::accumulate(l.begin(), l.begin() + 10, 0.0) / 10;
        const double last = std::accumulate(l.end() - 10, l.end(), 0.0) / 10;
        INFO("first 10 steps " << first << ", last 10 " << last);
        CHECK(last < 0.3 * first);
        CHECK(a.evaluate().accuracy > 0.6);  // chance is 0.1
        CHECK(fs::exists(fs::path(dirA) / "metrics.csv"));
    }
    const fs::path checkpoint = fs::path(dirB) / "checkpoint.safetensors";
    {
        Trainer b(e, smallRun(dirB), data);
        CHECK(b.run(130) == 130);  // stops mid-epoch 2 (100 steps an epoch) with a checkpoint
    }
    Trainer c(e, smallRun(dirB), data);
    c.restore(checkpoint);
    CHECK(c.step() == 130);
    CHECK(c.run() == 0);
    REQUIRE(c.stepLosses().size() == uninterrupted.size() - 130);
    for (std::size_t i = 0; i < c.stepLosses().size(); ++i) CHECK(c.stepLosses()[i] == uninterrupted[130 + i]);

    TrainConfig other = smallRun(dirB);
    other.seed = 6;
    Trainer d(e, other, data);
    CHECK_THROWS_WITH(d.restore(checkpoint), Catch::Contains("seed 5"));
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
            CHECK(t.run(1) == 130);
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
