// `revnet train` and `revnet eval`: the trainer on the command line.
#include "tools/commands.hpp"

#include "revnet/datasets/data_source.hpp"
#include "revnet/engine/memory_ledger.hpp"
#include "engine/vulkan_error.hpp"
#include "revnet/training/run_directory.hpp"
#include "revnet/training/trainer.hpp"

#include <array>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unistd.h>

namespace revnet::cli {

namespace {

const char* kTrainHelp =
    "usage: revnet train [options] [engine options]\n\n"
    "Trains a model and evaluates it on the test set after every epoch. Defaults train a small\n"
    "RevNet on Fashion-MNIST (Debian's dataset-fashion-mnist) with the paper's recipe.\n\n"
    "  --model NAME       a model of 'revnet models' (default revnet-20), or a spec such as\n"
    "                     revnet:units=2-2-2,channels=32-32-64-128[,block=bottleneck]\n"
    "  --data SOURCE      fashion-mnist (default), synthetic[:CxHxW:K[:N]] (N training images,\n"
    "                     default 5000), or a directory of CIFAR-10 (data_batch_*.bin), CIFAR-100\n"
    "                     (train.bin), IDX files, or images: train/CLASS/*.jpg|png, val/CLASS/...\n"
    "  --input CxHxW      the size an image folder's images are brought to (default 3x224x224;\n"
    "                     1 channel: grey): training takes random-resized crops (8-100%% of the\n"
    "                     area, ratio 3/4-4/3) and flips, decoded ahead on all cores; evaluation\n"
    "                     the centre at 8/7 of the size. Other data keeps its own size\n"
    "  --normalize N      per-channel normalization: imagenet (default for image folders), data\n"
    "                     (measured on the training set; default for the rest), or M,M,M/S,S,S\n"
    "  --epochs N         default 2 (Fashion-MNIST: 89%% test accuracy in 6 minutes on 2 CPU cores)\n"
    "  --batch N|auto     default 128; auto: the largest batch whose memory plan fits --budget\n"
    "                     (or the device's default budget)\n"
    "  --lr X             initial learning rate (default 0.1), divided by --lr-decay 10 at\n"
    "  --milestones A,B   these fractions of training (default 0.5,0.75)\n"
    "  --momentum X       default 0.9\n"
    "  --weight-decay X   on conv and fully connected weights (default 2e-4)\n"
    "  --nesterov         Nesterov momentum\n"
    "  --pad N            random crop after N-pixel zero padding (default 4 for 32x32 color, else 0)\n"
    "  --flip / --no-flip random horizontal flips (default on for 32x32 color)\n"
    "  --backprop MODE    reversible (default) or stored\n"
    "  --coupling MODE    a RevNet's couplings: fixed (default: on a grid of 2^-14, where the\n"
    "                     reversible pass rebuilds activations exactly), fixed:BITS, or float\n"
    "                     (plain float32: rebuilt activations drift by rounding); docs/NUMERICS.md\n"
    "  --precision P      fp32 (default) or fp16: with --backprop stored, the activations kept for\n"
    "                     the backward pass stored as halves (arithmetic and weights stay fp32)\n"
    "  --seed N           shuffling, augmentation and initialization (default 1)\n"
    "  --run-dir DIR      metrics.csv, curves.svg (loss and accuracy per epoch) and\n"
    "                     checkpoint.safetensors go here (default runs/MODEL-TIME);\n"
    "                     it must be empty, unless --resume or --overwrite; one run at a time\n"
    "  --resume FILE      continue from a checkpoint of the same model, batch and seed\n"
    "  --overwrite        replace the run directory's metrics and checkpoint\n"
    "  --sync-bn          under mpirun: batch norm with the statistics of the whole batch, not of\n"
    "                     each process's share (N processes then compute what one does)\n\n"
    "Several processes (data parallelism): mpirun -np N revnet train ... runs N processes, each on\n"
    "its own GPU where the machine has several (else sharing one device), each training on its\n"
    "share of every --batch (the global batch, a multiple of N); gradients are averaged before each\n"
    "update. The first process prints and writes the run directory; --resume works for any N.\n"
    "docs/SCALING.md.\n\n"
    "Ctrl-C (SIGINT), SIGTERM and SIGHUP save a checkpoint and exit; a second signal exits at once\n"
    "(the last checkpoint stays whole). Exit codes: 0 done, 1 error, 2 usage, 3 memory budget,\n"
    "130 SIGINT, 143 SIGTERM, 129 SIGHUP (128 + the signal's number).\n%s";

std::vector<float> parseFractions(const std::string& text) {
    std::vector<float> out;
    std::stringstream s(text);
    for (std::string part; std::getline(s, part, ',');) {
        const auto fraction = parseReal(part);
        if (!fraction || *fraction < 0 || *fraction > 1)
            throw UsageError("--milestones takes fractions from 0 to 1 such as 0.5,0.75, not '" + text + "'");
        out.push_back(float(*fraction));
    }
    return out;
}

// The signal that asked the run to stop, or 0. A handler can only set a flag: this one, which
// belongs to the command (library code installs no handlers).
volatile std::sig_atomic_t stopSignal = 0;
void onStopSignal(int signal) { stopSignal = signal; }

// SIGINT, SIGTERM, SIGHUP and SIGUSR1 set stopSignal while the run lives; the previous handlers return after.
class StopSignals {
public:
    StopSignals() {
        stopSignal = 0;
        struct sigaction action{};
        action.sa_handler = onStopSignal;
        action.sa_flags = SA_RESETHAND;  // a second signal takes the default action: exit at once
        sigemptyset(&action.sa_mask);
        for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &action, &previous_[i]);
    }
    ~StopSignals() {
        for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &previous_[i], nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

private:
    // SIGUSR1: what mpirun forwards to every process without ending the job.
    static constexpr std::array<int, 4> kSignals{SIGINT, SIGTERM, SIGHUP, SIGUSR1};
    std::array<struct sigaction, 4> previous_{};
};

// Progress on one rewritten line on a terminal, else a line every tenth of an epoch; a line per epoch.
training::RunObserver printingObserver() {
    const bool terminal = ::isatty(::fileno(stdout));
    training::RunObserver o;
    o.stop = [](uint64_t) { return stopSignal != 0; };
    o.progress = [terminal](const training::StepProgress& p) {
        // Once asked to stop, print nothing until the checkpoint is saved: under mpirun, whose
        // output forwarding ends with the job, a write could block the process that saves it.
        if (stopSignal) return;
        if (!terminal && p.batch != p.batches && p.batch % std::max<std::size_t>(p.batches / 10, 1) != 0) return;
        // A big model on a CPU device makes well under 10 images a second: show the decimals.
        std::printf("%sepoch %u/%u  step %zu/%zu  loss %.4f  acc %.2f%%  %.*f img/s  eta %.0fs  peak %.0f MiB%s",
                    terminal ? "\r" : "", p.epoch + 1, p.epochs, p.batch, p.batches, p.loss, 100 * p.accuracy,
                    p.imagesPerSecond < 10 ? 2 : 0, p.imagesPerSecond, p.etaSeconds, p.peakDeviceBytes / 1048576.0,
                    terminal ? "   " : "\n");
        std::fflush(stdout);
    };
    o.epochEnd = [terminal](const training::EpochReport& r) {
        std::printf("%sepoch %u/%u  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  (%.0f s)\n", terminal ? "\n" : "",
                    r.epoch + 1, r.epochs, r.trainLoss, 100 * r.trainAccuracy, r.test.loss, 100 * r.test.accuracy, r.seconds);
        if (r.processes > 1)
            std::printf("  %u processes: the device waited %.1f%% of the epoch's training for exchanges, %.1f%% for "
                        "gradient sums (their transfer, and any process behind; %u bucket%s a step, started during "
                        "the backward pass)\n",
                        r.processes, 100 * r.exchangeShare, 100 * r.gradientWaitShare, r.gradientBuckets,
                        r.gradientBuckets == 1 ? "" : "s");
        // Past a fifth of the epoch spent waiting for images, say so, with the decoders' own rate.
        if (r.loaderWaitShare > 0.2)
            std::printf("  the image loader is the bottleneck: the device waited for it %.0f%% of the epoch; it decodes "
                        "%.0f img/s on this machine's cores\n",
                        100 * r.loaderWaitShare, r.loaderImagesPerSecond);
        if (r.couplingOverflow)
            std::fprintf(stderr, "warning: a value of the residual streams left the fixed-point grid's exact range "
                                 "this epoch, so reversible reconstruction is no longer exact; train with fewer "
                                 "fraction bits (--coupling fixed:BITS) or --coupling float (docs/NUMERICS.md)\n");
        if (!r.unreadable.empty())
            std::fprintf(stderr, "warning: %zu image%s could not be decoded this epoch (replaced in training, left out of "
                                 "the test); the first: %s\n",
                         r.unreadable.size(), r.unreadable.size() == 1 ? "" : "s", r.unreadable.front().c_str());
    };
    return o;
}

// A process other than the first: it trains its share, prints nothing, and stops with the others.
int runQuietly(training::Trainer& trainer) {
    const StopSignals signals;
    training::RunObserver o;
    o.stop = [](uint64_t) { return stopSignal != 0; };
    if (trainer.run(o) == training::Trainer::End::Finished) return 0;
    return 128 + (stopSignal ? stopSignal : SIGINT);
}

}  // namespace

int trainCommand(Arguments& args, training::Communicator* processes) {
    training::SingleProcess alone;
    training::Communicator& team = processes ? *processes : alone;
    const bool speaks = team.rank() == 0;  // the first process prints and writes the run directory
    if (args.help()) {
        std::printf(kTrainHelp, kEngineOptionsHelp);
        return 0;
    }
    training::TrainConfig c;
    c.model = args.option("model").value_or(c.model);
    c.data = args.option("data").value_or("");
    c.epochs = uint32_t(args.count("epochs", c.epochs, 1000000));
    const std::string batchText = args.option("batch").value_or(std::to_string(c.batch));
    const bool autoBatch = batchText == "auto";
    if (!autoBatch) {
        const auto batch = parseCount(batchText, kMaxBatch);
        if (!batch) throw UsageError("--batch takes a whole number up to " + std::to_string(kMaxBatch) + " or auto, not '" + batchText + "'");
        c.batch = uint32_t(*batch);
    }
    c.lr = float(args.real("lr", c.lr, 1e-12, 1e6));
    c.lrDecay = 1.0f / float(args.real("lr-decay", 10.0, 1e-6, 1e6));
    if (auto m = args.option("milestones")) c.milestones = parseFractions(*m);
    c.momentum = float(args.real("momentum", c.momentum, 0.0, 0.999999));
    c.weightDecay = float(args.real("weight-decay", c.weightDecay, 0.0, 1.0));
    c.nesterov = args.flag("nesterov");
    if (auto p = args.option("pad")) {
        const auto pad = parseCount(*p, 1024);
        if (!pad) throw UsageError("--pad takes a whole number of pixels up to 1024, not '" + *p + "'");
        c.pad = int(*pad);
    }
    if (args.flag("flip")) c.flip = 1;
    if (args.flag("no-flip")) c.flip = 0;
    const std::string backprop = args.option("backprop").value_or("reversible");
    if (backprop != "reversible" && backprop != "stored") throw UsageError("--backprop takes reversible or stored");
    c.backprop = backprop == "stored" ? models::Backprop::Stored : models::Backprop::Reversible;
    c.coupling = couplingOption(args);
    c.precision = precisionOption(args);
    c.seed = args.count("seed", c.seed);
    c.syncBatchNorm = args.flag("sync-bn");
    c.runDirectory = args.option("run-dir").value_or("");
    if (const auto normalize = args.option("normalize")) c.normalize = *normalize;
    if (const auto input = args.option("input")) {
        const ImageShape shape = parseImageShape(*input, "--input");
        c.input = {shape.c, shape.h, shape.w};
    }
    const auto resume = args.option("resume");
    const bool overwrite = args.flag("overwrite");
    EngineOptions options = engineOptions(args);
    options.processSlot = team.localRank();
    args.finish();
    if (c.epochs == 0 || c.batch == 0) throw UsageError("--epochs and --batch must be at least 1");
    if (!autoBatch && c.batch % team.size() != 0)
        throw UsageError("--batch is the global batch, split evenly over the " + std::to_string(team.size()) +
                         " processes: give a multiple of " + std::to_string(team.size()) + ", not " + std::to_string(c.batch));
    if (resume && overwrite) throw UsageError("--resume continues a run, --overwrite replaces one: give one of them");
    checkPrecision(c.model, c.backprop, c.precision);  // an unknown model fails here, before the data loads
    if (c.runDirectory.empty() && resume) c.runDirectory = std::filesystem::path(*resume).parent_path().string();
    if (c.runDirectory.empty() && resume) c.runDirectory = ".";
    if (c.runDirectory.empty() && speaks) {
        // A spec string's ':', ',' and '=' make an awkward directory name.
        std::string prefix = c.model;
        for (char& ch : prefix)
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.') ch = '_';
        c.runDirectory = training::RunDirectory::createUnique("runs", prefix).string();
    }
    // Held to the end: a second run into it is refused; unwritable fails here, before training.
    std::optional<training::RunDirectory> runDirectory;
    if (speaks)
        runDirectory.emplace(c.runDirectory, resume      ? training::RunMode::Resume
                                             : overwrite ? training::RunMode::Overwrite
                                                         : training::RunMode::New);

    if (speaks) std::printf("loading %s\n", c.data.empty() ? "Fashion-MNIST" : c.data.c_str());
    const datasets::Split data = datasets::loadData(c.data, c.input);
    Engine engine(options);
    const auto& shape = data.train;
    {
        // Refuse, or choose the batch, from the plan: before allocating anything. Without
        // --budget, the device's default budget (revnet devices prints it).
        const uint64_t budget = *engine.memory().ledger().budget();
        const std::string budgetText = formatBytes(budget) + (options.budget ? "" : " (the device's default budget)");
        if (autoBatch) {
            c.batch = training::largestBatchWithin(engine, c, shape.channels, shape.height, shape.width, shape.classes,
                                                   budget, 4096, team.size());
            // Every process takes the smallest of their batches (their devices may differ).
            std::vector<float> batches(team.size());
            team.gather(std::vector<float>{float(c.batch)}, batches);
            c.batch = uint32_t(*std::min_element(batches.begin(), batches.end()));
            if (c.batch == 0) c.batch = team.size();  // refused below with the smallest batch's figures
            else if (speaks)
                std::printf("--batch auto: %u is the largest batch whose plan fits %s%s\n", c.batch, budgetText.c_str(),
                            team.size() > 1 ? " on every process" : "");
        }
        const uint64_t planned = training::plannedTrainingBytes(engine, c, shape.channels, shape.height, shape.width,
                                                                shape.classes, team.size());
        if (planned > budget)
            throw BudgetExceeded(c.model + " at batch " + std::to_string(c.batch) +
                                 (team.size() > 1 ? " (" + std::to_string(c.batch / team.size()) + " a process)" : "") +
                                 " plans " + formatBytes(planned) + " of device memory, past the budget of " + budgetText);
    }
    training::Trainer trainer(engine, c, data, &team);
    if (resume) trainer.restore(*resume);
    if (!speaks) return runQuietly(trainer);
    const auto& net = trainer.network();
    const bool revnet = net.architecture().spec.family == models::Family::RevNet;
    std::string couplings = revnet ? ", " + models::couplingName(net.options()) + " couplings" : "";
    if (net.options().precision == models::Precision::Float16) couplings += ", fp16 storage";
    std::printf("%s on %s: %zu training and %zu test images %ux%ux%u, %u classes; %llu parameters; batch %u, %s "
                "backprop%s; device %s\nrun directory %s\n",
                c.model.c_str(), data.train.name.c_str(), data.train.size(), data.test.size(), data.train.channels,
                data.train.height, data.train.width, data.train.classes,
                static_cast<unsigned long long>(net.architecture().parameterCount()), c.batch,
                c.backprop == models::Backprop::Reversible ? "reversible" : "stored", couplings.c_str(),
                engine.info().name.c_str(), c.runDirectory.c_str());
    if (resume)
        std::printf("resumed from %s after step %llu\n", resume->c_str(), static_cast<unsigned long long>(trainer.step()));
    try {
        const StopSignals signals;
        if (trainer.run(printingObserver()) == training::Trainer::End::Finished) return 0;
        // Stopped without a signal of its own: another process of the launch had one.
        std::printf("\n%s: checkpoint saved to %s (continue with --resume)\n",
                    stopSignal ? strsignal(stopSignal) : "another process was asked to stop",
                    runDirectory->checkpoint().c_str());
        return 128 + (stopSignal ? stopSignal : SIGINT);
    } catch (const VulkanError& e) {
        if (e.result() != VK_ERROR_DEVICE_LOST) throw;
        // Nothing more can be read from a lost device: the last checkpoint is what there is.
        const auto checkpoint = runDirectory->checkpoint();
        throw std::runtime_error(std::string(e.what()) + "; " +
                                 (std::filesystem::exists(checkpoint)
                                      ? "the last checkpoint is kept: continue with --resume " + checkpoint.string()
                                      : std::string("no checkpoint was written yet")));
    }
}

int evalCommand(Arguments& args) {
    if (args.help()) {
        std::printf("usage: revnet eval CHECKPOINT [--data SOURCE] [engine options]\n\n"
                    "Test loss and top-1 accuracy of a checkpoint, in inference mode (running statistics),\n"
                    "on the test split of its run's data or of --data.\n%s",
                    kEngineOptionsHelp);
        return 0;
    }
    const auto data = args.option("data");
    const EngineOptions options = engineOptions(args);
    const auto files = args.rest();
    args.finish();
    if (files.size() != 1) throw UsageError("give one checkpoint file");
    const training::Checkpoint checkpoint = training::readCheckpoint(files[0]);
    training::TrainConfig c = training::savedConfig(checkpoint, files[0]);
    if (data) c.data = *data;
    const datasets::Split split = datasets::loadData(c.data, c.input);
    Engine engine(options);
    const auto result = training::evaluateCheckpoint(engine, checkpoint, files[0], split);
    std::printf("%s: test loss %.4f, accuracy %.2f%% on %zu images of %s\n", files[0].c_str(), result.loss,
                100 * result.accuracy, result.samples, split.test.name.c_str());
    return 0;
}

}  // namespace revnet::cli
