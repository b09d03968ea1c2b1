// `revnet memory`: the device memory a training run will hold at its peak, planned before
// anything is allocated, by category; with --budget, the largest batch that fits.
#include "tools/commands.hpp"

#include "revnet/engine/memory_ledger.hpp"
#include "revnet/training/trainer.hpp"

#include <cstdio>
#include <map>

namespace revnet::cli {

namespace {

const char* kHelp =
    "usage: revnet memory MODEL [--batch N] [--input CxHxW] [--classes K] [--backprop reversible|stored]\n"
    "                     [--precision fp32|fp16] [--processes N [--sync-bn]] [--budget SIZE] [engine options]\n\n"
    "Prints the device memory a training run of MODEL holds at its peak, by category, as planned\n"
    "before any allocation (the engine's measured peak equals it; see revnet bench step). With\n"
    "--budget: the largest batch whose plan fits, or a refusal (exit 3) with batch 1's figures.\n"
    "--processes N: what each of N processes of `mpirun -np N revnet train` holds (its share of the\n"
    "global --batch, and the host-visible buffer the gradients are exchanged through).\n"
    "Defaults: batch 128, 3x32x32, 10 classes, reversible, fp32, 1 process.\n%s%s";

}  // namespace

int memoryCommand(Arguments& args) {
    if (args.help()) {
        std::printf(kHelp, kPrecisionHelp, kEngineOptionsHelp);
        return 0;
    }
    training::TrainConfig c;
    c.batch = uint32_t(args.count("batch", 128, kMaxBatch));
    const ImageShape input = parseImageShape(args.option("input").value_or("3x32x32"), "--input");
    const auto classes = uint32_t(args.count("classes", 10, kMaxClasses));
    const std::string mode = args.option("backprop").value_or("reversible");
    c.precision = precisionOption(args);
    const auto processes = uint32_t(args.count("processes", 1, 1u << 20));
    c.syncBatchNorm = args.flag("sync-bn");
    EngineOptions options = engineOptions(args);
    const auto names = args.rest();
    args.finish();
    if (names.size() != 1) throw UsageError("name one model (revnet models lists them)");
    if (mode != "reversible" && mode != "stored") throw UsageError("--backprop takes reversible or stored");
    if (c.batch == 0 || classes == 0 || processes == 0)
        throw UsageError("--batch, --classes and --processes must be at least 1");
    if (c.batch % processes != 0)
        throw UsageError("--batch is the global batch: give a multiple of the " + std::to_string(processes) + " processes");
    c.model = names[0];
    c.backprop = mode == "stored" ? models::Backprop::Stored : models::Backprop::Reversible;
    checkPrecision(c.model, c.backprop, c.precision);
    const bool revnet = models::modelByName(c.model).family == models::Family::RevNet;
    const std::string how = revnet && c.backprop == models::Backprop::Reversible ? "reversible" : "stored";
    const auto budget = options.budget;
    options.budget.reset();  // planning allocates nothing; the budget is this command's question
    Engine engine(options);

    if (budget) {
        const uint32_t batch =
            training::largestBatchWithin(engine, c, input.c, input.h, input.w, classes, *budget, 4096, processes);
        if (batch == 0) {
            c.batch = processes;
            throw BudgetExceeded(c.model + " does not fit " + formatBytes(*budget) + " even at " +
                                 (processes > 1 ? "1 sample a process" : "batch 1") + ": it plans " +
                                 formatBytes(training::plannedTrainingBytes(engine, c, input.c, input.h, input.w, classes,
                                                                            processes)));
        }
        std::printf("%s (%s backprop, %s storage) fits %s up to batch %u\n\n", c.model.c_str(), how.c_str(),
                    c.precision.c_str(), formatBytes(*budget).c_str(), batch);
        c.batch = batch;
    }
    const auto arch = models::expand(models::modelByName(c.model), input.c, input.h, input.w, classes);
    models::NetworkOptions o;
    o.batch = c.batch / processes;
    o.backprop = c.backprop;
    if (c.syncBatchNorm && processes > 1) o.syncBatchNorm = kernels::BatchNormShares{processes};
    models::setPrecision(o, c.precision);
    std::map<Category, uint64_t> bytes;
    for (const auto& t : models::planTensors(arch, o, engine.info()))
        bytes[t.category] += engine.memory().chargedSize(t.elements * 4);
    const uint64_t total = training::plannedTrainingBytes(engine, c, input.c, input.h, input.w, classes, processes);
    uint64_t network = 0;
    for (const auto& [category, b] : bytes) network += b;
    const std::string each = processes > 1 ? " (" + std::to_string(c.batch / processes) + " on each of " +
                                                 std::to_string(processes) + " processes)" : "";
    std::printf("%s, batch %u%s, %ux%ux%u, %u classes, %s backprop, %s storage: planned peak%s\n", c.model.c_str(),
                c.batch, each.c_str(), input.c, input.h, input.w, classes, how.c_str(), c.precision.c_str(),
                processes > 1 ? " of each process" : "");
    for (const auto& [category, b] : bytes) std::printf("  %-28s %s\n", categoryName(category), formatBytes(b).c_str());
    std::printf("  %-28s %s\n", processes > 1 ? "trainer (momentum, batches, exchange)" : "trainer (momentum, batches)",
                formatBytes(total - network).c_str());
    std::printf("  %-28s %s\n", "total", formatBytes(total).c_str());
    const uint64_t deviceBudget = defaultBudget(engine.info());
    std::printf("\n%s's default budget: %s (%s)\n", engine.info().name.c_str(), formatBytes(deviceBudget).c_str(),
                total <= deviceBudget ? "fits" : "does not fit");
    return 0;
}

}  // namespace revnet::cli
