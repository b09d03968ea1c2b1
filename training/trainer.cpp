#include "revnet/training/trainer.hpp"

#include "revnet/kernels/augment.hpp"
#include "revnet/kernels/loss.hpp"
#include "engine/readback_buffer.hpp"
#include "revnet/datasets/image_stream.hpp"
#include "revnet/engine/upload_ring.hpp"
#include "revnet/training/normalization.hpp"
#include "training/process_exchange.hpp"
#include "revnet/training/run_curves.hpp"
#include "revnet/training/run_directory.hpp"
#include "training/batch_filling.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

namespace revnet::training {

namespace {

using nlohmann::json;


// Each process's share of a global batch, which must divide evenly.
uint32_t localBatchOf(uint32_t batch, uint32_t processes) {
    if (processes == 0 || batch % processes != 0)
        throw std::invalid_argument("a batch of " + std::to_string(batch) + " does not split evenly over " +
                                    std::to_string(processes) + " processes: give a multiple of " +
                                    std::to_string(processes));
    return batch / processes;
}

// The network options of each of `processes` processes of a run (the exchange functions of a
// synchronized batch norm are the trainer's to set).
models::NetworkOptions networkOptions(const TrainConfig& config, uint32_t processes) {
    models::NetworkOptions options;
    options.batch = localBatchOf(config.batch, processes);
    options.backprop = config.backprop;
    models::setCoupling(options, config.coupling);
    models::setPrecision(options, config.precision);
    if (config.syncBatchNorm && processes > 1) options.syncBatchNorm = kernels::BatchNormShares{processes};
    return options;
}

// What the processes of a run exchange through host memory (ProcessExchange), from the network's
// plan: the gradients' floats, and the scratch of a synchronized batch norm.
std::pair<uint64_t, uint64_t> exchangeFloats(const std::vector<models::PlannedTensor>& network,
                                             const models::Architecture& arch, const models::NetworkOptions& options,
                                             uint32_t processes) {
    uint64_t gradients = 0;
    for (const auto& t : network)
        if (t.category == Category::Gradients) gradients += t.elements;
    uint32_t channels = 0;
    for (const auto& [name, c] : arch.batchNorms()) channels = std::max(channels, c);
    return {gradients, ProcessExchange::scratchFloats(channels, processes, options.syncBatchNorm.has_value())};
}

// Gradient buckets start their exchange once this many floats (1 MiB) are final: large enough
// that a network's bandwidth, not its latency, sets their time; small enough that RevNet-38
// (464,890 parameters) exchanges in more than one while its backward pass runs.
constexpr uint64_t kBucketFloats = 1u << 18;

const char* backpropName(models::Backprop b) { return b == models::Backprop::Reversible ? "reversible" : "stored"; }

constexpr const char* kMetricsHeader =
    "step,epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,images_per_second,peak_device_mib\n";

// The metrics file as a run from `step` continues it: a fresh file at step 0, otherwise the
// rows up to that step (a row past it belongs to an epoch whose checkpoint was not saved).
void prepareMetrics(const std::filesystem::path& file, uint64_t step) {
    std::string kept = kMetricsHeader;
    if (step > 0) {
        std::ifstream in(file);
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            uint64_t rowStep = 0;
            const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), rowStep);
            if (error == std::errc() && end != line.data() && *end == ',' && rowStep <= step) kept += line + "\n";
        }
    }
    replaceFile(file, kept);
}

}  // namespace

json TrainConfig::toJson() const {
    return {{"model", model}, {"data", data}, {"epochs", epochs}, {"batch", batch}, {"lr", lr},
            {"momentum", momentum}, {"weight_decay", weightDecay}, {"nesterov", nesterov},
            {"milestones", milestones}, {"lr_decay", lrDecay}, {"pad", pad}, {"flip", flip}, {"seed", seed},
            {"backprop", backpropName(backprop)}, {"coupling", coupling}, {"precision", precision},
            {"run_directory", runDirectory},
            {"input", {input.channels, input.height, input.width}}, {"normalize", normalize},
            {"sync_bn", syncBatchNorm}};
}

TrainConfig TrainConfig::fromJson(const json& j) {
    TrainConfig c;
    c.model = j.at("model");
    c.data = j.at("data");
    c.epochs = j.at("epochs");
    c.batch = j.at("batch");
    c.lr = j.at("lr");
    c.momentum = j.at("momentum");
    c.weightDecay = j.at("weight_decay");
    c.nesterov = j.at("nesterov");
    c.milestones = j.at("milestones").get<std::vector<float>>();
    c.lrDecay = j.at("lr_decay");
    c.pad = j.at("pad");
    c.flip = j.at("flip");
    c.seed = j.at("seed");
    c.backprop = j.at("backprop") == "stored" ? models::Backprop::Stored : models::Backprop::Reversible;
    c.coupling = j.contains("coupling") ? j.at("coupling").get<std::string>() : "float";  // runs before fixed-point couplings
    c.precision = j.contains("precision") ? j.at("precision").get<std::string>() : "fp32";
    c.runDirectory = j.at("run_directory");
    if (j.contains("input")) {  // checkpoints before image folders lack it
        const auto input = j.at("input").get<std::vector<uint32_t>>();
        if (input.size() != 3) throw json::other_error::create(501, "input is not [channels, height, width]", nullptr);
        c.input = {input[0], input[1], input[2]};
    }
    if (j.contains("normalize")) c.normalize = j.at("normalize");
    if (j.contains("sync_bn")) c.syncBatchNorm = j.at("sync_bn");
    return c;
}

float TrainConfig::learningRate(uint64_t step, uint64_t totalSteps) const {
    float rate = lr;
    // The first step at or past each fraction, the product taken in float precision: 0.3f is a
    // little over 0.3, and 0.3 of 10 steps must still drop at step 3.
    for (float m : milestones)
        if (double(step) >= std::ceil(double(m * float(totalSteps)))) rate *= lrDecay;
    return rate;
}

namespace {

// Everything a trainer holds on the device, decided before any of it is allocated: the trainer
// builds each piece at the size given here (and checks that it holds no more and no less), and
// plannedTrainingBytes charges these sizes, so a budget is checked against what the run will hold.
struct TrainerPlan {
    models::Architecture arch;
    models::NetworkOptions options;  // a synchronized batch norm's exchange functions not yet set
    std::vector<models::PlannedTensor> network;  // what the network allocates (models::planTensors)
    uint32_t processes = 1;
    uint32_t batch = 0;              // this process's share
    std::size_t imageBytes = 0;      // of one uint8 image
    uint32_t channels = 0;
    uint64_t weights = 0;            // floats: the momentum holds as many
    uint64_t exchangeGradients = 0, exchangeScratch = 0;  // floats, several processes only

    // The training upload ring's targets, in TrainInput order (images, labels, counter, rate).
    std::vector<uint64_t> trainInputBytes() const {
        return {BatchInputs::imageBatchBytes(batch, imageBytes), batch * 4ull, 4, 4};
    }
    uint64_t bytes(const Engine& engine) const {
        const MemoryArena& arena = const_cast<Engine&>(engine).memory();
        uint64_t total = 0;
        for (const auto& t : network) total += arena.chargedSize(t.elements * 4);
        total += BatchInputs::plannedBytes(arena, batch, imageBytes, channels);
        total += arena.chargedSize(weights * 4);  // momentum
        total += arena.chargedSize(4);            // learning rate
        total += UploadRing::plannedBytes(arena, trainInputBytes(), kSlots);
        total += ReadbackBuffer::plannedBytes(arena, 2 * 4);  // the metrics each step hands back
        total += Evaluator::plannedBytes(arena, batch, imageBytes);
        if (processes > 1) total += HostExchange::plannedBytes(arena, exchangeGradients + exchangeScratch);
        return total + engine.transferBytes();  // uploads where tensors are not mapped
    }
};

TrainerPlan planTrainer(const Engine& engine, const TrainConfig& config, uint32_t channels, uint32_t height, uint32_t width,
                        uint32_t classes, uint32_t processes) {
    TrainerPlan plan;
    plan.arch = models::expand(models::modelByName(config.model), channels, height, width, classes);
    plan.options = networkOptions(config, processes);
    plan.processes = processes;
    plan.batch = plan.options.batch;
    plan.imageBytes = std::size_t(channels) * height * width;
    plan.channels = channels;
    plan.network = models::planTensors(plan.arch, plan.options, engine.info());
    for (const auto& t : plan.network)
        if (t.role == models::TensorRole::Weights) plan.weights = t.elements;
    if (processes > 1)
        std::tie(plan.exchangeGradients, plan.exchangeScratch) = exchangeFloats(plan.network, plan.arch, plan.options, processes);
    return plan;
}

}  // namespace

uint64_t plannedTrainingBytes(const Engine& engine, const TrainConfig& config, uint32_t channels, uint32_t height,
                              uint32_t width, uint32_t classes, uint32_t processes) {
    return planTrainer(engine, config, channels, height, width, classes, processes).bytes(engine);
}

uint32_t largestBatchWithin(const Engine& engine, TrainConfig config, uint32_t channels, uint32_t height, uint32_t width,
                            uint32_t classes, uint64_t budget, uint32_t limit, uint32_t processes) {
    // Searched in shares: each process's batch.
    auto fits = [&](uint32_t share) {
        config.batch = share * processes;
        return plannedTrainingBytes(engine, config, channels, height, width, classes, processes) <= budget;
    };
    if (limit < processes || !fits(1)) return 0;
    uint32_t good = 1, bad = limit / processes + 1;  // the plan grows with the batch
    while (bad - good > 1) {
        const uint32_t mid = good + (bad - good) / 2;
        (fits(mid) ? good : bad) = mid;
    }
    return good * processes;
}

// The training loss and correct predictions summed over the epoch so far, and the samples seen.
struct EpochSums {
    double loss = 0, correct = 0, seen = 0;
};

// What each replay reads from the host, in the order of the upload ring's targets: the batch
// (kImages, kLabels), then these.
enum TrainInput : uint32_t { kCounter = kLabels + 1, kRate };

struct Trainer::Impl {
    std::unique_ptr<BatchInputs> inputs;
    Tensor hyper, momentum;
    // The host fills one slot while the device runs the recording made for the other.
    std::unique_ptr<UploadRing> trainInputs;
    std::unique_ptr<ReadbackBuffer> readback;  // the metrics, copied out at the end of every recording
    std::unique_ptr<ProcessExchange> exchange;  // over several processes
    uint32_t gradientBuckets = 0;               // a step's
    std::vector<std::unique_ptr<Recorder>> trainSteps;  // one per slot
    EpochSums epoch;  // of the epoch in progress; a checkpoint keeps them
    std::unique_ptr<datasets::ImageStream> trainStream;  // image folders
    std::unique_ptr<Evaluator> evaluator;
};

Trainer::Trainer(Engine& engine, TrainConfig config, const datasets::Split& data, Communicator* processes)
    : engine_(engine), config_(std::move(config)), processes_(processes ? *processes : alone_),
      localBatch_(localBatchOf(config_.batch, processes_.size())), data_(data), impl_(std::make_unique<Impl>()) {
    datasets::checkCompatible(data);  // the test batches go through slots sized for training images
    const datasets::Dataset& train = data.train;
    if (train.size() < config_.batch)
        throw std::invalid_argument("the training set has " + std::to_string(train.size()) + " images, fewer than a batch of " +
                                    std::to_string(config_.batch));
    const bool color = train.channels == 3 && train.height >= 32 && !train.streamed();
    if (config_.pad < 0) config_.pad = color ? 4 : 0;
    if (config_.flip < 0) config_.flip = color ? 1 : 0;
    const TrainerPlan plan =
        planTrainer(engine, config_, train.channels, train.height, train.width, train.classes, processes_.size());
    const uint64_t heldBefore = engine.memory().ledger().total();
    models::NetworkOptions options = plan.options;
    Impl& m = *impl_;
    if (plan.processes > 1) {
        m.exchange = std::make_unique<ProcessExchange>(engine, processes_, plan.exchangeGradients, plan.exchangeScratch);
        if (options.syncBatchNorm) options.syncBatchNorm = m.exchange->batchNormShares();
    }
    network_ = std::make_unique<models::Network>(engine, plan.arch, options);
    network_->initialize(config_.seed);

    normalization_ = normalizationOf(config_.normalize, train);
    if (train.streamed())
        m.trainStream = std::make_unique<datasets::ImageStream>(train, datasets::ImageStream::Mode::Train);
    m.inputs = std::make_unique<BatchInputs>(engine, plan.batch, plan.imageBytes, normalization_);
    m.hyper = engine.tensor({1, 1, 1, 1}, Category::OptimizerState, "learning rate");
    m.momentum = engine.tensor({1, 1, 1, uint32_t(plan.weights)}, Category::OptimizerState, "momentum");
    engine.upload(m.momentum, std::vector<float>(m.momentum.shape().elements(), 0.0f));

    const models::Network& net = *network_;
    m.trainInputs = std::make_unique<UploadRing>(
        engine, std::vector<const Tensor*>{&m.inputs->images, &net.labels(), &m.inputs->counter, &m.hyper}, kSlots,
        "training inputs");
    m.readback = std::make_unique<ReadbackBuffer>(engine, net.metrics(), "metrics readback");
    for (uint32_t slot = 0; slot < kSlots; ++slot) m.trainSteps.push_back(recordTrainingStep(slot));
    m.evaluator = std::make_unique<Evaluator>(engine, net, data.test, *m.inputs, processes_);
    // A piece built at another size than its plan would make every budget check wrong.
    const uint64_t held = engine.memory().ledger().total() - heldBefore, planned = plan.bytes(engine) - engine.transferBytes();
    if (held != planned)
        throw std::logic_error("trainer: holds " + std::to_string(held) + " device bytes, its plan says " +
                               std::to_string(planned));
    adoptFirstProcessState();
}

void Trainer::adoptFirstProcessState() {
    if (processes_.size() == 1) return;
    for (const Tensor* t : {&network_->weights(), static_cast<const Tensor*>(&impl_->momentum), &network_->statistics()}) {
        std::vector<float> values = engine_.download(*t);
        processes_.broadcast(values, 0);
        engine_.upload(*t, values);
    }
}

void Trainer::averageRunningStatistics() {
    if (processes_.size() == 1) return;
    const std::vector<float> mine = engine_.download(network_->statistics());
    // In double: the mean of equal values is that value, whatever the number of processes.
    std::vector<double> sums(mine.begin(), mine.end());
    processes_.sum(sums);
    std::vector<float> mean(sums.size());
    for (std::size_t i = 0; i < sums.size(); ++i) mean[i] = float(sums[i] / processes_.size());
    engine_.upload(network_->statistics(), mean);
}

std::unique_ptr<Recorder> Trainer::recordTrainingStep(uint32_t slot) const {
    const Impl& m = *impl_;
    const models::Network& net = *network_;
    auto& p = engine_.pipelines();
    auto r = std::make_unique<Recorder>(engine_.device());
    m.trainInputs->recordCopies(*r, slot);
    // Draws keyed by the sample's position in the global batch.
    kernels::AugmentOptions augment{uint32_t(config_.pad), config_.flip != 0, config_.seed,
                                    processes_.rank() * localBatch_};
    kernels::augmentImages({p, *r}, m.inputs->images, 0, m.inputs->normalization, m.inputs->counter, 0, net.batchInput(),
                           augment);
    if (!m.exchange) net.recordTrainingStep(*r);
    else {
        // Averaged over the processes in buckets, each started as soon as the backward pass has
        // finished its gradients, while the rest of the pass runs.
        std::vector<GradientBuckets::Parameter> parameters;
        for (const auto& p : net.parameters()) parameters.push_back({p.spec.name, {p.offset, p.spec.elements()}});
        GradientBuckets buckets(*m.exchange, net.gradients(), std::move(parameters), kBucketFloats);
        net.recordTrainingStep(*r, [&](Recorder& rec, std::string_view prefix) { buckets.ready(rec, prefix); });
        buckets.finish(*r);
        impl_->gradientBuckets = buckets.bucketsStarted();
        r->whileWaiting([&exchange = *m.exchange] { exchange.progress(); });
    }
    net.recordSgdUpdate(*r, m.momentum, m.hyper, {config_.momentum, config_.weightDecay, config_.nesterov});
    m.readback->recordCopy(*r);
    return r;
}

Trainer::~Trainer() = default;

std::vector<uint32_t> Trainer::epochOrder(uint32_t epoch) const {
    std::vector<uint32_t> order(data_.train.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = uint32_t(i);
    std::mt19937_64 random(config_.seed * 0x9E3779B97F4A7C15ull + epoch);
    std::shuffle(order.begin(), order.end(), random);
    return order;
}

std::vector<uint32_t> Trainer::shareOf(const std::vector<uint32_t>& order) const {
    if (processes_.size() == 1) return order;
    std::vector<uint32_t> share;
    for (std::size_t batch = 0; (batch + 1) * config_.batch <= order.size(); ++batch) {
        const auto first = order.begin() + std::ptrdiff_t(batch * config_.batch + processes_.rank() * localBatch_);
        share.insert(share.end(), first, first + localBatch_);
    }
    return share;
}

EvalResult Trainer::evaluate() { return impl_->evaluator->evaluate(); }

void Trainer::saveCheckpoint(const std::filesystem::path& file) const {
    Checkpoint c;
    const models::Network& net = *network_;
    const auto weights = engine_.download(net.weights()), momentum = engine_.download(impl_->momentum);
    const auto stats = engine_.download(net.statistics());
    const models::Architecture& a = net.architecture();
    for (const auto& p : net.parameters()) {
        const std::vector<uint32_t> shape = p.spec.torchShape();
        const std::string name = a.stateName(p.spec.name);
        const auto begin = weights.begin() + std::ptrdiff_t(p.offset);
        c.tensors.push_back({name, shape, {begin, begin + std::ptrdiff_t(p.spec.elements())}});
        const auto mb = momentum.begin() + std::ptrdiff_t(p.offset);
        c.tensors.push_back({"optimizer.momentum." + name, shape, {mb, mb + std::ptrdiff_t(p.spec.elements())}});
    }
    for (const auto& [norm, channels] : a.batchNorms()) {
        const auto at = net.statisticsOf(norm);
        const std::string name = a.stateName(norm);
        const auto begin = stats.begin() + std::ptrdiff_t(at.running);
        c.tensors.push_back({name + ".running_mean", {channels}, {begin, begin + channels}});
        c.tensors.push_back({name + ".running_var", {channels}, {begin + channels, begin + 2 * channels}});
    }
    c.metadata["config"] = config_.toJson().dump();
    c.metadata["step"] = std::to_string(step_);
    // Exact decimal images of the doubles, so that a resumed epoch reports the same means.
    const EpochSums& e = impl_->epoch;
    c.metadata["epoch_sums"] = json{{"loss", e.loss}, {"correct", e.correct}, {"seen", e.seen}}.dump();
    c.metadata["normalization"] = json(normalization_).dump();
    if (!data_.train.classNames.empty()) c.metadata["class_names"] = json(data_.train.classNames).dump();
    writeCheckpoint(file, c);
}

TrainConfig savedConfig(const Checkpoint& checkpoint, const std::filesystem::path& file) {
    const auto config = checkpoint.metadata.find("config");
    if (config == checkpoint.metadata.end()) throw CheckpointError(file, "holds no training configuration");
    try {
        return TrainConfig::fromJson(json::parse(config->second));
    } catch (const json::exception& e) {
        throw CheckpointError(file, std::string("malformed training configuration: ") + e.what());
    }
}

void checkClassNames(const Checkpoint& c, const std::filesystem::path& file, const datasets::Dataset& train) {
    // Class ids of an image folder follow its folder names: the same ids must name the same classes.
    const auto saved = c.metadata.find("class_names");
    const auto& names = train.classNames;
    if (saved == c.metadata.end() || names.empty()) return;
    std::vector<std::string> savedNames;
    try {
        savedNames = json::parse(saved->second).get<std::vector<std::string>>();
    } catch (const json::exception&) {
        throw CheckpointError(file, "its class names are malformed");
    }
    auto listed = [](const std::vector<std::string>& n) {
        std::string out;
        for (std::size_t i = 0; i < n.size() && i < 5; ++i) out += (i ? ", " : "") + n[i];
        return out + (n.size() > 5 ? ", ..." : "");
    };
    if (savedNames != names)
        throw CheckpointError(file, "was trained on the classes " + listed(savedNames) + " (" +
                                        std::to_string(savedNames.size()) + "); " + train.origin + " has " +
                                        listed(names) + " (" + std::to_string(names.size()) + ")");
}

EvalResult evaluateCheckpoint(Engine& engine, const Checkpoint& checkpoint, const std::filesystem::path& file,
                              const datasets::Split& data) {
    datasets::checkCompatible(data);
    const TrainConfig config = savedConfig(checkpoint, file);
    checkClassNames(checkpoint, file, data.train);
    const datasets::Dataset& train = data.train;
    models::NetworkOptions options = networkOptions(config, 1);
    options.inferenceOnly = true;
    const auto arch = models::expand(models::modelByName(config.model), train.channels, train.height, train.width, train.classes);
    const models::Network network(engine, arch, options);
    loadNetworkState(engine, network, checkpoint, file);
    const BatchInputs inputs(engine, options.batch, train.imageBytes(), normalizationOf(config.normalize, train));
    SingleProcess alone;
    Evaluator evaluator(engine, network, data.test, inputs, alone);
    return evaluator.evaluate();
}

void Trainer::restore(const std::filesystem::path& file) {
    const Checkpoint c = readCheckpoint(file);
    const TrainConfig saved = savedConfig(c, file);
    if (saved.model != config_.model || saved.batch != config_.batch || saved.seed != config_.seed)
        throw CheckpointError(file, "was written by a run of " + saved.model + ", batch " + std::to_string(saved.batch) +
                                        ", seed " + std::to_string(saved.seed) + "; this run is " + config_.model +
                                        ", batch " + std::to_string(config_.batch) + ", seed " + std::to_string(config_.seed));
    checkClassNames(c, file, data_.train);
    const models::Network& net = *network_;
    const models::Architecture& a = net.architecture();
    std::vector<float> momentum(net.weights().shape().elements(), 0.0f);
    for (const auto& p : net.parameters()) {
        const std::vector<uint32_t> shape = p.spec.torchShape(), legacy(p.spec.shape.begin(), p.spec.shape.end());
        const auto& v = c.values("optimizer.momentum." + a.stateName(p.spec.name), shape, file, legacy);
        std::copy(v.begin(), v.end(), momentum.begin() + std::ptrdiff_t(p.offset));
    }
    const auto stepText = c.metadata.find("step");
    const std::size_t perEpoch = data_.train.size() / config_.batch;
    uint64_t step = 0;
    if (stepText == c.metadata.end() ||
        std::from_chars(stepText->second.data(), stepText->second.data() + stepText->second.size(), step).ptr !=
            stepText->second.data() + stepText->second.size() ||
        step > uint64_t(perEpoch) * config_.epochs)
        throw CheckpointError(file, "its step is missing or past the end of this run (" +
                                        std::to_string(uint64_t(perEpoch) * config_.epochs) + " steps)");
    EpochSums sums;
    if (step % perEpoch != 0) {
        try {
            const json e = json::parse(c.metadata.at("epoch_sums"));
            sums = {e.at("loss"), e.at("correct"), e.at("seen")};
        } catch (const std::exception&) {
            throw CheckpointError(file, "its sums of the epoch in progress are missing or malformed");
        }
    }
    loadNetworkState(engine_, net, c, file);  // checks every tensor before it uploads any
    engine_.upload(impl_->momentum, momentum);
    impl_->epoch = sums;
    step_ = step;
    adoptFirstProcessState();
}

Trainer::End Trainer::run(const RunObserver& observer) {
    namespace fs = std::filesystem;
    const fs::path dir = config_.runDirectory;
    const datasets::Dataset& train = data_.train;
    const std::size_t perEpoch = train.size() / config_.batch;
    const uint64_t total = uint64_t(perEpoch) * config_.epochs;
    const fs::path metricsFile = dir / RunDirectory::kMetrics, checkpointFile = dir / RunDirectory::kCheckpoint;
    std::ofstream metrics;
    if (writes()) {
        fs::create_directories(dir);
        prepareMetrics(metricsFile, step_);
        metrics.open(metricsFile, std::ios::app);
    }
    const auto started = std::chrono::steady_clock::now();
    const uint64_t firstStep = step_;
    Impl& m = *impl_;
    // Where the last stop or the restored checkpoint left off.
    const uint32_t startEpoch = uint32_t(step_ / perEpoch);
    const std::size_t startBatch = step_ % perEpoch;
    for (uint32_t epoch = startEpoch; epoch < config_.epochs; ++epoch) {
        const auto order = shareOf(epochOrder(epoch));
        EpochSums& sums = impl_->epoch;
        if (epoch != startEpoch || startBatch == 0) sums = {};
        double &lossSum = sums.loss, &correct = sums.correct, &seen = sums.seen;
        const std::size_t firstBatch = epoch == startEpoch ? startBatch : 0;
        if (m.trainStream)
            m.trainStream->start(order, localBatch_, firstBatch, perEpoch - firstBatch,
                                 config_.seed * 0x9E3779B97F4A7C15ull + epoch);
        const auto loaderStart = m.trainStream ? m.trainStream->throughput() : datasets::ImageStream::Throughput{};
        const auto epochStarted = std::chrono::steady_clock::now();
        const double exchangeStart = m.exchange ? m.exchange->seconds() : 0;
        const double finishStart = m.exchange ? m.exchange->finishSeconds() : 0;
        fillBatch(train, order, firstBatch * localBatch_, localBatch_, *m.trainInputs, firstBatch % kSlots, m.trainStream.get());
        for (std::size_t b = firstBatch; b < perEpoch; ++b) {
            const uint32_t slot = b % kSlots;
            m.trainInputs->values<uint32_t>(slot, kCounter)[0] = uint32_t(step_);
            m.trainInputs->values<float>(slot, kRate)[0] = config_.learningRate(step_, total);
            m.trainInputs->flush(slot);
            m.trainSteps[slot]->submit();
            // The next batch is gathered while the device works on this one.
            if (b + 1 < perEpoch)
                fillBatch(train, order, (b + 1) * localBatch_, localBatch_, *m.trainInputs, (b + 1) % kSlots,
                          m.trainStream.get());
            m.trainSteps[slot]->wait();
            const auto result = m.readback->read();
            ++step_;
            // The batch's sums over every process, and whether any of them was asked to stop.
            std::vector<double> stepSums{result[0], result[1], observer.stop && observer.stop(step_) ? 1.0 : 0.0};
            processes_.sum(stepSums);
            lossSum += stepSums[0], correct += stepSums[1], seen += config_.batch;
            stepLosses_.push_back(stepSums[0] / config_.batch);
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            const double rateImages = double(step_ - firstStep) * config_.batch / elapsed;
            if (observer.progress)
                observer.progress({epoch, config_.epochs, b + 1, perEpoch, lossSum / seen, correct / seen, rateImages,
                                   (total - step_) * config_.batch / std::max(rateImages, 1e-9),
                                   engine_.memory().ledger().peakTotal()});
            if (stepSums[2] > 0) {
                averageRunningStatistics();
                if (writes()) saveCheckpoint(checkpointFile);
                return End::Stopped;
            }
        }
        EpochReport report{epoch, config_.epochs, lossSum / std::max(seen, 1.0), correct / std::max(seen, 1.0), {}, 0};
        report.processes = processes_.size();
        if (m.exchange) {
            const double seconds =
                std::max(std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStarted).count(), 1e-9);
            report.exchangeShare = (m.exchange->seconds() - exchangeStart) / seconds;
            report.gradientWaitShare = (m.exchange->finishSeconds() - finishStart) / seconds;
            report.gradientBuckets = m.gradientBuckets;
        }
        if (m.trainStream) {
            const auto loader = m.trainStream->throughput();
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStarted).count();
            report.unreadable = m.trainStream->failures();
            report.loaderImagesPerSecond = loader.imagesPerSecond();
            report.loaderWaitShare = (loader.waitSeconds - loaderStart.waitSeconds) / std::max(seconds, 1e-9);
        }
        if (!couplingOverflowReported_) {
            std::vector<double> overflowed{network_->couplingOverflowed() ? 1.0 : 0.0};  // on any process
            processes_.sum(overflowed);
            report.couplingOverflow = couplingOverflowReported_ = overflowed[0] > 0;
        }
        averageRunningStatistics();
        report.test = evaluate();
        for (const auto& f : m.evaluator->unreadable()) report.unreadable.push_back(f);
        report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const EvalResult& test = report.test;
        const double elapsed = report.seconds;
        if (observer.epochEnd) observer.epochEnd(report);
        if (!writes()) continue;
        metrics << step_ << ',' << epoch + 1 << ',' << config_.learningRate(step_ - 1, total) << ','
                << lossSum / std::max(seen, 1.0) << ',' << correct / std::max(seen, 1.0) << ',' << test.loss << ','
                << test.accuracy << ',' << double(step_ - firstStep) * config_.batch / elapsed << ','
                << engine_.memory().ledger().peakTotal() / 1048576.0 << '\n';
        if (!metrics.flush()) throw std::runtime_error("cannot write " + metricsFile.string() + " (disk full?)");
        saveCheckpoint(checkpointFile);
        // After the checkpoint: a chart that cannot be written never costs one.
        writeCurves(metricsFile, dir / RunDirectory::kCurves,
                    config_.model + ", " + backpropName(config_.backprop) + " backprop, " + config_.precision + ", batch " +
                        std::to_string(config_.batch) + " (" + (config_.data.empty() ? "Fashion-MNIST" : config_.data) + ")");
    }
    return End::Finished;
}

}  // namespace revnet::training
