// The training loop: shuffled batches uploaded as uint8 through a two-slot upload ring (the host
// fills one slot while the device works on the other; image folders are decoded ahead on host
// threads, datasets/image_stream.hpp) and augmented on the device, one recorded
// step per slot (copies in, augmentation, forward, loss, backward, SGD) replayed for every batch
// with the learning rate and augmentation counter in the same slot, evaluation after each epoch,
// a progress line, a metrics file and checkpoints in the run directory.
#pragma once

#include "revnet/datasets/dataset.hpp"
#include "revnet/engine/engine.hpp"
#include "revnet/engine/upload_ring.hpp"
#include "revnet/models/network.hpp"
#include "revnet/training/checkpoint.hpp"
#include "revnet/training/communicator.hpp"
#include "revnet/training/evaluator.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace revnet::training {

struct TrainConfig {
    std::string model = "revnet-20";
    std::string data;  // empty: Fashion-MNIST
    uint32_t epochs = 2, batch = 128;
    float lr = 0.1f, momentum = 0.9f, weightDecay = 2e-4f;
    bool nesterov = false;
    std::vector<float> milestones{0.5f, 0.75f};  // fractions of training where the rate drops
    float lrDecay = 0.1f;
    // Device augmentation; -1: 4-pixel crop and flips for in-memory color images, none otherwise
    // (image folders are cropped and flipped as they are decoded).
    int pad = -1, flip = -1;
    uint64_t seed = 1;
    models::Backprop backprop = models::Backprop::Reversible;
    std::string coupling = "fixed";  // a RevNet's coupling arithmetic: models::setCoupling
    std::string precision = "fp32";  // storage of kept activations: models::setPrecision
    std::string runDirectory;
    datasets::ImageSize input;  // what the images of an image folder are brought to
    std::string normalize;      // training/normalization.hpp; empty: by the data
    // Over several processes: batch norm with the statistics of the whole batch rather than of
    // each process's share (kernels::BatchNormShares).
    bool syncBatchNorm = false;

    nlohmann::json toJson() const;
    static TrainConfig fromJson(const nlohmann::json& j);
    float learningRate(uint64_t step, uint64_t totalSteps) const;
};

// The configuration a checkpoint was written with; CheckpointError when it has none or it is malformed.
TrainConfig savedConfig(const Checkpoint& checkpoint, const std::filesystem::path& file);

// Refuses (CheckpointError) a checkpoint whose class names (image folders) are not those of `train`.
void checkClassNames(const Checkpoint& checkpoint, const std::filesystem::path& file, const datasets::Dataset& train);

// Test loss and accuracy of a run's checkpoint on data's test set (normalized as the run was, by
// its configuration and training set), with an inference-only network: its weights and running
// statistics, and none of a trainer's gradients, momentum or training batches.
EvalResult evaluateCheckpoint(Engine& engine, const Checkpoint& checkpoint, const std::filesystem::path& file,
                              const datasets::Split& data);

// Device bytes a training run of `config` on data of this shape holds at its peak, as the engine
// will charge them: the network's plan plus the trainer's batches, momentum and small buffers;
// over several processes, what each holds (its share of the batch, the exchange buffers).
uint64_t plannedTrainingBytes(const Engine& engine, const TrainConfig& config, uint32_t channels, uint32_t height,
                              uint32_t width, uint32_t classes, uint32_t processes = 1);
// The largest batch (up to `limit`, a multiple of `processes`) whose plan fits `budget`; 0 when
// not even the smallest does.
uint32_t largestBatchWithin(const Engine& engine, TrainConfig config, uint32_t channels, uint32_t height,
                            uint32_t width, uint32_t classes, uint64_t budget, uint32_t limit = 4096,
                            uint32_t processes = 1);

// What a run reports as it goes (the trainer prints nothing; `revnet train` prints these).
struct StepProgress {
    uint32_t epoch, epochs;  // epoch from 0
    std::size_t batch, batches;  // batches done in this epoch, of
    double loss, accuracy;   // means over the epoch so far
    double imagesPerSecond, etaSeconds;
    uint64_t peakDeviceBytes;
};
struct EpochReport {
    uint32_t epoch, epochs;
    double trainLoss, trainAccuracy;
    EvalResult test;
    double seconds;  // since run() began
    // Image folders: files that could not be decoded in this epoch ("file: why"), replaced in
    // training by the next in the order and left out of the evaluation; the decoders' own rate
    // (as if never idle), and the share of the epoch's training the device's feeder waited for
    // them (a loader-bound run has a large one).
    std::vector<std::string> unreadable;
    double loaderImagesPerSecond = 0, loaderWaitShare = 0;
    // Fixed-point couplings: a value left the grid's exact range during this run (reported with
    // the first epoch that saw it): reconstruction is no longer exact. docs/NUMERICS.md.
    bool couplingOverflow = false;
    // Several processes: how many; the share of this epoch's training this one spent in exchanges
    // with the others (the device idle meanwhile), and of it, waiting for gradient sums the
    // backward pass did not hide; the buckets a step's gradients go in.
    uint32_t processes = 1;
    double exchangeShare = 0, gradientWaitShare = 0;
    uint32_t gradientBuckets = 0;
};
struct RunObserver {
    std::function<bool(uint64_t steps)> stop;  // after every step: stop now?
    std::function<void(const StepProgress&)> progress;
    std::function<void(const EpochReport&)> epochEnd;
};

// Each epoch visits the training set in its own order: 0..N-1 shuffled by std::shuffle with
// std::mt19937_64 seeded by seed * 0x9E3779B97F4A7C15 + epoch; a last partial batch is left out.
// Images are augmented with the draws of kernels::augmentDraw(seed, step, index in the batch).
//
// Over several processes (a Communicator larger than 1), config.batch is the global batch: each
// process trains on its share of every batch (process r on positions [r*b, (r+1)*b) of it, with
// the same augmentation draws), so the data a step sees do not depend on the number of
// processes. They start from process 0's state, average their gradients before every update and
// their running statistics before every evaluation and checkpoint, and agree on stopping; the
// test set is split between them and the results summed. Process 0 alone writes the run directory.
class Trainer {
public:
    Trainer(Engine& engine, TrainConfig config, const datasets::Split& data, Communicator* processes = nullptr);
    ~Trainer();

    // Continues from a checkpoint of the same configuration: weights, momentum, statistics,
    // position. The data's class names, where it has them, must be the checkpoint's.
    void restore(const std::filesystem::path& checkpoint);
    // Trains to the last epoch, writing metrics and a checkpoint into the run directory after
    // each. Asks observer.stop after every step (with the steps done): when it says so, saves a
    // checkpoint and returns Stopped. A resumed run drops metrics rows past its checkpoint (a
    // save that failed after its row was written), so that no row repeats.
    enum class End { Finished, Stopped };
    End run(const RunObserver& observer = {});
    EvalResult evaluate();
    void saveCheckpoint(const std::filesystem::path& file) const;

    const models::Network& network() const { return *network_; }
    const TrainConfig& config() const { return config_; }
    // The samples of each batch this process trains on.
    uint32_t localBatch() const { return localBatch_; }
    uint64_t step() const { return step_; }
    // Mean training loss of each step run so far in this process (for tests and the metrics file).
    const std::vector<double>& stepLosses() const { return stepLosses_; }

private:
    struct Impl;
    std::unique_ptr<Recorder> recordTrainingStep(uint32_t slot) const;
    std::vector<uint32_t> epochOrder(uint32_t epoch) const;
    // This process's positions of the epoch's order, batch after batch.
    std::vector<uint32_t> shareOf(const std::vector<uint32_t>& order) const;
    // Every process takes process 0's weights, momentum and statistics.
    void adoptFirstProcessState();
    void averageRunningStatistics();
    bool writes() const { return processes_.rank() == 0; }

    Engine& engine_;
    TrainConfig config_;
    SingleProcess alone_;
    Communicator& processes_;
    uint32_t localBatch_;
    const datasets::Split& data_;
    std::unique_ptr<models::Network> network_;
    bool couplingOverflowReported_ = false;
    std::unique_ptr<Impl> impl_;
    std::vector<float> normalization_;
    uint64_t step_ = 0;  // steps done
    std::vector<double> stepLosses_;
};

}  // namespace revnet::training
