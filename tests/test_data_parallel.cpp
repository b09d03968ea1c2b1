// Data-parallel training over MPI, run by mpirun with 2 processes: with synchronized batch norm
// they compute what one process computes on the whole batch (the batch norm itself: statistics,
// input and parameter gradients within 1e-5; a training run: the first step's loss and every batch
// norm's statistics within 1e-5, the classifier's update too: see checkLossesMatch); without it they still learn; weights and running statistics are the same bits on every
// process; a stop asked on one process stops all at the same step with one checkpoint; and a run
// checkpointed by either number of processes resumes with the other and goes on as the
// uninterrupted run. The single-process references run on the first process.
#include "revnet/datasets/synthetic.hpp"
#include "revnet/kernels/batch_norm.hpp"
#include "training/process_exchange.hpp"
#include "tests/parallel_test.hpp"
#include "tests/test_engine.hpp"
#include "revnet/training/run_directory.hpp"
#include "revnet/training/trainer.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

using namespace revnet;
using namespace revnet::training;
namespace fs = std::filesystem;

namespace {

// One directory for every process of the launch (they share a parent): process 0 writes in it,
// and a process resuming reads the checkpoint there.
fs::path shared(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("revnet-parallel-" + std::to_string(::getppid()));
    fs::create_directories(dir);
    return dir / name;
}

// Fresh draws each launch, the same on every process: process 0's seed.
uint64_t sharedSeed() {
    std::mt19937 random = test::freshRandom();
    std::vector<float> seed{float(random() % (1u << 20))};
    test::processes().broadcast(seed, 0);
    return uint64_t(seed[0]);
}

struct Run {
    datasets::Split data;
    TrainConfig config;
};

// 20 steps an epoch of a global batch of 14 (7 a process) on 3x8x8 images.
Run smallRun(uint64_t seed, const std::string& dir, bool syncBatchNorm) {
    Run r;
    r.data.train = datasets::synthetic(280, 3, 8, 8, 3, seed);
    r.data.test = datasets::synthetic(45, 3, 8, 8, 3, seed + 1);
    r.config.model = "revnet-20";
    r.config.batch = 14;
    r.config.epochs = 1;
    r.config.seed = seed;
    // A gentle rate: early steps at 0.1 amplify a last-bit difference chaotically (3e-5 apart by
    // the fourth step of one draw, growing tenfold every two steps).
    r.config.lr = 0.02f;
    // Float couplings: the fixed-point grid turns a last-bit difference of a sum (the order of
    // additions differs between the runs) into a whole grid step, which training then amplifies.
    r.config.coupling = "float";
    r.config.syncBatchNorm = syncBatchNorm;
    r.config.runDirectory = shared(dir).string();
    return r;
}

std::vector<float> weightsOf(const Trainer& t) { return test::engine().download(t.network().weights()); }

double relativeDistance(const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), n += double(b[i]) * b[i];
    return std::sqrt(d / n);
}

// Whether `values` are the same bits on every process.
bool sameOnEveryProcess(const std::vector<float>& values) {
    auto& p = test::processes();
    std::vector<float> all(values.size() * p.size());
    p.gather(values, all);
    for (uint32_t r = 1; r < p.size(); ++r)
        if (!std::equal(values.begin(), values.end(), all.begin() + std::ptrdiff_t(r * values.size()))) return false;
    return true;
}

// The first step of a run from its start within 1e-5 of the reference's loss at that step
// (relative above 1, absolute below: a cross-entropy near 0 keeps only the logits' absolute
// rounding); later steps, and every step of a resumed run (whose weights came from a run that
// summed in another order), within 1e-1, which catches a wrong batch or rate only. That a restore
// gives back the checkpointed weights exactly is checked bit for bit by the callers. Both runs sum in
// float32 in different orders, so a pre-activation within a rounding of 0 can fall on either side
// of a ReLU in the two, and the gradient through a ReLU is a step: one such element changes a
// step's gradient by a whole sample's share, and from there the runs part as two training runs
// do (seen in about one draw in five: the first update 8e-5 apart in weight, losses 2e-2 apart by
// step 20). A step's loss is continuous in the weights, so the first one, computed before any
// update, is exact to rounding whatever happens in the backward pass.
void checkLossesMatch(const std::vector<double>& got, const std::vector<double>& want, std::size_t from = 0) {
    REQUIRE(got.size() + from <= want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("step " << from + i + 1 << ": " << got[i] << " against " << want[from + i]);
        const double scale = std::max(1.0, std::abs(want[from + i]));
        CHECK(std::abs(got[i] - want[from + i]) <= (i == 0 && from == 0 ? 1e-5 : 1e-1) * scale);
    }
}

}  // namespace

TEST_CASE("gradient buckets average every element over the processes, started as their parameters are final",
          "[parallel]") {
    auto& p = test::processes();
    Engine& e = test::engine();
    const uint64_t seed = sharedSeed();
    std::mt19937 draws{uint32_t(seed)};
    // Parameters of awkward sizes in a shuffled layout, with elements no parameter claims.
    const uint32_t count = 20 + draws() % 20;
    std::vector<GradientBuckets::Parameter> parameters;
    uint64_t at = draws() % 7;
    for (uint32_t i = 0; i < count; ++i) {
        const uint64_t size = 1 + draws() % 300;
        parameters.push_back({"unit" + std::to_string(i % 9) + ".w" + std::to_string(i), {at, size}});
        at += size + (draws() % 4 == 0 ? draws() % 5 : 0);
    }
    const uint64_t total = at + draws() % 3;
    std::shuffle(parameters.begin(), parameters.end(), draws);
    // Each process's gradients: its own draws.
    std::vector<std::vector<float>> all;
    for (uint32_t r = 0; r < p.size(); ++r) {
        std::mt19937 own{uint32_t(seed + 1 + r)};
        all.push_back(test::randomValues(total, own));
    }
    Tensor gradients = e.tensor({1, 1, 1, uint32_t(total)}, Category::Gradients, "gradients");
    e.upload(gradients, all[p.rank()]);
    const ProcessExchange exchange(e, p, total, 0);
    GradientBuckets buckets(exchange, gradients, parameters, 150);
    Recorder r(e.device());
    for (uint32_t unit : {8u, 3u, 5u, 0u, 1u}) buckets.ready(r, "unit" + std::to_string(unit) + ".");
    buckets.finish(r);  // the units never announced, and the unclaimed elements, too
    r.whileWaiting([&] { exchange.progress(); });
    CHECK(buckets.bucketsStarted() > 1);
    r.run();
    const std::vector<float> got = e.download(gradients);
    for (uint64_t i = 0; i < total; ++i) {
        float sum = 0;
        for (const auto& values : all) sum += values[i];
        INFO("element " << i << " of " << total);
        REQUIRE(got[i] == Approx(sum / float(p.size())).margin(1e-6));
    }
    CHECK(sameOnEveryProcess(got));
}

TEST_CASE("synchronized batch norm: each share normalizes and backpropagates as the whole batch does", "[parallel]") {
    auto& p = test::processes();
    Engine& e = test::engine();
    std::mt19937 draws{uint32_t(sharedSeed())};  // the same draws on every process
    const uint32_t local = 1 + draws() % 4, n = local * p.size();
    const Shape whole{n, 1 + uint32_t(draws() % 5), 1 + uint32_t(draws() % 5), 1 + uint32_t(draws() % 7)};
    const Shape share{local, whole.c, whole.h, whole.w};
    const uint32_t c = whole.c;
    const bool relu = draws() % 2 == 0;
    INFO(whole.n << "x" << c << "x" << whole.h << "x" << whole.w << (relu ? ", ReLU" : ""));
    const std::vector<float> x = test::randomValues(whole.elements(), draws, -2.0f, 3.0f);
    const std::vector<float> dy = test::randomValues(whole.elements(), draws);
    const std::vector<float> gammaBeta = test::randomValues(2 * c, draws, 0.5f, 1.5f);
    const std::size_t perShare = share.elements(), first = p.rank() * perShare;

    // Every tensor once, [x, dy, dx] shaped as the batch they hold, [stats, running, gamma, beta, dgamma, dbeta] flat.
    struct Layer {
        Tensor x, dy, dx, stats, running, gamma, beta, dgamma, dbeta;
    };
    auto make = [&](const Shape& s, std::size_t from) {
        Layer r{e.tensor(s, Category::Activations, "x"), e.tensor(s, Category::Workspace, "dy"),
              e.tensor(s, Category::Workspace, "dx"), e.tensor({1, 1, 1, 2 * c}, Category::Statistics, "stats"),
              e.tensor({1, 1, 1, 2 * c}, Category::Statistics, "running"), e.tensor({1, 1, 1, c}, Category::Parameters, "gamma"),
              e.tensor({1, 1, 1, c}, Category::Parameters, "beta"), e.tensor({1, 1, 1, c}, Category::Gradients, "dgamma"),
              e.tensor({1, 1, 1, c}, Category::Gradients, "dbeta")};
        e.upload(r.x, {x.begin() + std::ptrdiff_t(from), x.begin() + std::ptrdiff_t(from + s.elements())});
        e.upload(r.dy, {dy.begin() + std::ptrdiff_t(from), dy.begin() + std::ptrdiff_t(from + s.elements())});
        std::vector<float> running(2 * c, 0.0f);
        std::fill(running.begin() + c, running.end(), 1.0f);
        e.upload(r.running, running);
        e.upload(r.gamma, {gammaBeta.begin(), gammaBeta.begin() + c});
        e.upload(r.beta, {gammaBeta.begin() + c, gammaBeta.end()});
        return r;
    };
    auto record = [&](Layer& r, const kernels::BatchNormOptions& options) {
        Recorder recorder(e.device());
        kernels::batchNormStatistics({e.pipelines(), recorder}, r.x, r.stats, r.running, true, options);
        kernels::batchNormBackward({e.pipelines(), recorder}, r.x, r.dy, r.stats, r.gamma, r.beta, r.dgamma, r.dbeta, r.dx,
                                   false, options);
        recorder.run();
    };
    kernels::BatchNormOptions options;
    options.relu = relu;
    Layer alone = make(whole, 0);
    record(alone, options);

    const ProcessExchange exchange(e, p, 0, ProcessExchange::scratchFloats(c, p.size(), true));
    kernels::BatchNormShares shares = exchange.batchNormShares();
    Tensor gathered = e.tensor({1, 1, 1, uint32_t(kernels::batchNormSharesWorkspace(c, p.size()))}, Category::Workspace,
                               "gathered");
    shares.gathered = gathered.view();
    options.shares = &shares;
    Layer mine = make(share, first);
    record(mine, options);

    CHECK(relativeDistance(e.download(mine.stats), e.download(alone.stats)) <= 1e-5);
    CHECK(relativeDistance(e.download(mine.running), e.download(alone.running)) <= 1e-5);
    // Each share's dy is its own; the parameter gradients are the shares' mean, so the whole
    // batch's sum over the number of processes (a training step's shares are of each process's own
    // mean loss, so that the mean is the whole batch's gradient).
    for (const auto& [got, want] : {std::pair{&mine.dgamma, &alone.dgamma}, std::pair{&mine.dbeta, &alone.dbeta}}) {
        std::vector<float> scaled = e.download(*got);
        for (float& v : scaled) v *= float(p.size());
        CHECK(relativeDistance(scaled, e.download(*want)) <= 1e-5);
    }
    const std::vector<float> dxWhole = e.download(alone.dx);
    CHECK(relativeDistance(e.download(mine.dx), {dxWhole.begin() + std::ptrdiff_t(first),
                                                 dxWhole.begin() + std::ptrdiff_t(first + perShare)}) <= 1e-5);
}

TEST_CASE("two processes with synchronized batch norm train as one process on the whole batch", "[parallel]") {
    auto& p = test::processes();
    REQUIRE(p.size() == 2);
    const Run run = smallRun(sharedSeed(), "sync", true);
    std::vector<float> weights;
    std::vector<double> losses;
    {
        // An engine of its own: its peak is this run's alone, and must be the plan for 2 processes.
        Engine own(test::options());
        Trainer both(own, run.config, run.data, &p);
        CHECK(both.localBatch() == 7);
        CHECK(both.run() == Trainer::End::Finished);
        weights = own.download(both.network().weights());
        losses = both.stepLosses();
        CHECK(sameOnEveryProcess(weights));
        CHECK(sameOnEveryProcess(own.download(both.network().statistics())));
        CHECK(own.memory().ledger().peakTotal() == plannedTrainingBytes(own, run.config, 3, 8, 8, 3, 2));
        test::countValidation(own);
    }
    CHECK(losses.size() == 20);
    // One step alone: its update, before any ReLU could part the runs.
    Engine& e = test::engine();
    RunObserver first;
    first.stop = [](uint64_t steps) { return steps == 1; };
    Run oneStep = run;
    oneStep.config.runDirectory = shared("sync-one-step").string();
    Trainer bothOnce(e, oneStep.config, oneStep.data, &p);
    const std::vector<float> start = weightsOf(bothOnce);
    bothOnce.run(first);
    const std::vector<float> onceWeights = weightsOf(bothOnce);
    const std::vector<float> onceStatistics = e.download(bothOnce.network().statistics());
    if (p.rank() != 0) return;
    {
        Run alone = oneStep;
        alone.config.runDirectory = shared("sync-one-step-alone").string();
        Trainer oneOnce(e, alone.config, alone.data);
        oneOnce.run(first);
        // What the first forward pass computed: every batch norm's batch and running statistics.
        CHECK(relativeDistance(onceStatistics, e.download(oneOnce.network().statistics())) <= 1e-5);
        // The classifier's update: its gradient comes from the forward pass's values alone, which
        // are continuous in them. Below it, a ReLU one run crosses and the other does not (a
        // rounding of 0 apart) changes the gradients by a whole element's share: at stage 3's 2x2
        // planes, 1 of 56 in a channel, enough to move every update below by 5% (one draw in five).
        const std::vector<float> aloneWeights = weightsOf(oneOnce);
        const auto& fc = oneOnce.network().parameter("head.fc.weight");
        auto update = [&](const std::vector<float>& after) {
            std::vector<float> u(fc.spec.elements());
            for (uint64_t i = 0; i < u.size(); ++i) u[i] = after[fc.offset + i] - start[fc.offset + i];
            return u;
        };
        REQUIRE(update(aloneWeights) != std::vector<float>(fc.spec.elements(), 0.0f));
        CHECK(relativeDistance(update(onceWeights), update(aloneWeights)) <= 1e-5);
    }
    CHECK(fs::exists(fs::path(run.config.runDirectory) / RunDirectory::kCheckpoint));
    Run alone = run;
    alone.config.runDirectory = shared("sync-alone").string();
    Trainer one(e, alone.config, alone.data);
    one.run();
    checkLossesMatch(losses, one.stepLosses());
}

TEST_CASE("without synchronized batch norm two processes learn, and agree on weights and running statistics",
          "[parallel]") {
    auto& p = test::processes();
    Engine& e = test::engine();
    Run run = smallRun(sharedSeed(), "local", false);
    run.config.epochs = 3;
    Trainer both(e, run.config, run.data, &p);
    both.run();
    const auto& losses = both.stepLosses();
    REQUIRE(losses.size() == 60);
    const double first = std::accumulate(losses.begin(), losses.begin() + 20, 0.0) / 20;
    const double last = std::accumulate(losses.end() - 20, losses.end(), 0.0) / 20;
    CHECK(last < 0.5 * first);
    CHECK(both.evaluate().accuracy > 0.8);  // three classes
    CHECK(sameOnEveryProcess(weightsOf(both)));
    CHECK(sameOnEveryProcess(e.download(both.network().statistics())));
}

TEST_CASE("a stop on one process stops all at one step, and a checkpoint resumes with the other number of processes",
          "[parallel]") {
    auto& p = test::processes();
    Engine& e = test::engine();
    const uint64_t seed = sharedSeed();
    const Run run = smallRun(seed, "resume-two", true);
    // The uninterrupted run, one process.
    std::vector<double> reference;
    std::vector<float> referenceWeights;
    if (p.rank() == 0) {
        Run alone = smallRun(seed, "resume-reference", true);
        Trainer one(e, alone.config, alone.data);
        one.run();
        reference = one.stepLosses();
        referenceWeights = weightsOf(one);
    }
    // Two processes, the second asked to stop after step 9; then one process goes on.
    std::vector<float> stoppedWeights;
    {
        Trainer both(e, run.config, run.data, &p);
        RunObserver observer;
        observer.stop = [&](uint64_t steps) { return p.rank() == 1 && steps == 9; };
        CHECK(both.run(observer) == Trainer::End::Stopped);
        CHECK(both.step() == 9);
        stoppedWeights = weightsOf(both);
        if (p.rank() == 0) checkLossesMatch(both.stepLosses(), reference);
    }
    const fs::path twoCheckpoint = fs::path(run.config.runDirectory) / RunDirectory::kCheckpoint;
    if (p.rank() == 0) {
        Trainer one(e, run.config, run.data);
        one.restore(twoCheckpoint);
        CHECK(weightsOf(one) == stoppedWeights);
        one.run();
        checkLossesMatch(one.stepLosses(), reference, 9);
        CHECK(relativeDistance(weightsOf(one), referenceWeights) <= 1e-1);  // gross errors only: see checkLossesMatch
    }
    // One process stops after step 12 (the first, alone); then two go on from its checkpoint.
    const Run single = smallRun(seed, "resume-one", true);
    if (p.rank() == 0) {
        Trainer one(e, single.config, single.data);
        RunObserver observer;
        observer.stop = [](uint64_t steps) { return steps == 12; };
        one.run(observer);
        stoppedWeights = weightsOf(one);
    }
    p.broadcast(stoppedWeights, 0);  // and the checkpoint is written
    Trainer both(e, single.config, single.data, &p);
    both.restore(fs::path(single.config.runDirectory) / RunDirectory::kCheckpoint);
    CHECK(both.step() == 12);
    CHECK(weightsOf(both) == stoppedWeights);
    both.run();
    CHECK(both.stepLosses().size() == 8);
    CHECK(sameOnEveryProcess(weightsOf(both)));
    if (p.rank() == 0) {
        checkLossesMatch(both.stepLosses(), reference, 12);
        CHECK(relativeDistance(weightsOf(both), referenceWeights) <= 1e-1);
    }
}
