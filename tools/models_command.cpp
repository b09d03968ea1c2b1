// `revnet models`: the catalog with parameter counts, one model's layers, and the check that
// reversible backprop rebuilds every unit's input (one training step with copies taken).
#include "tools/commands.hpp"

#include "revnet/models/network.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

namespace revnet::cli {

namespace {

const char* kHelp =
    "usage: revnet models [MODEL...] [--input CxHxW] [--classes K] [--check-reconstruction [--batch N]\n"
    "                     [--coupling MODE]] [engine options]\n\n"
    "Without a model: every model of the catalog with its parameter count. With models (names\n"
    "or spec strings such as revnet:units=2-2-2-2,channels=32-32-64-128-256,block=bottleneck):\n"
    "their layers. --input and --classes set the data the models are expanded for (default\n"
    "3x32x32 and 10, or 3x224x224 and 1000 for models with the ImageNet stem).\n"
    "--check-reconstruction runs one reversible training step on random data (batch N, default 8)\n"
    "and prints, per reversible unit, the largest difference between its input in the forward pass\n"
    "and the input rebuilt in the backward pass, relative to the input's largest magnitude: 0 with\n"
    "fixed-point couplings (the default), rounding-sized with --coupling float.\n%s%s";

void checkReconstruction(const models::Architecture& arch, uint32_t batch, const std::string& coupling,
                         const EngineOptions& options) {
    Engine engine(options);
    models::NetworkOptions o;
    o.batch = batch;
    models::setCoupling(o, coupling);
    models::Network net(engine, arch, o);
    net.initialize(1);
    net.enableReconstructionCheck();
    std::mt19937 random(2);
    std::normal_distribution<float> normal;
    std::vector<float> images(net.input().shape().elements());
    for (auto& v : images) v = normal(random);
    std::vector<uint32_t> labels(batch);
    for (auto& l : labels) l = random() % arch.classes;
    engine.upload(net.input(), images);
    engine.uploadBytes(net.labels(), std::as_bytes(std::span(labels)));
    Recorder recorder(engine.device());
    net.recordTrainingStep(recorder);
    recorder.run();
    const auto errors = net.reconstructionErrors();
    std::size_t i = 0;
    double worst = 0;
    std::printf("%s, batch %u, %s couplings: rebuilt inputs of the reversible units (max |error| / max |input|)\n",
                arch.spec.name.c_str(), batch, models::couplingName(o).c_str());
    for (const auto& u : arch.units) {
        if (!u.reversible) continue;
        std::printf("  %-14s %.2e\n", u.prefix.c_str(), errors[i]);
        worst = std::max(worst, errors[i++]);
    }
    std::printf("  largest        %.2e over %zu units\n", worst, errors.size());
    if (net.roundsCouplings())
        std::printf("  fixed-point grid: every value %s within +-%.0f, the range of exact sums\n",
                    net.couplingOverflowed() ? "did NOT stay" : "stayed",
                    kernels::exactBound(o.fixedPointBits));
}

}  // namespace

namespace {

// --NAME's text (or `fallback`), checked by `set` on scratch options: a usage error if it throws.
std::string networkOption(Arguments& args, const char* name, const char* fallback,
                          void (*set)(models::NetworkOptions&, std::string_view)) {
    const std::string text = args.option(name).value_or(fallback);
    try {
        models::NetworkOptions check;
        set(check, text);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--") + e.what());
    }
    return text;
}

}  // namespace

std::string couplingOption(Arguments& args) { return networkOption(args, "coupling", "fixed", models::setCoupling); }
std::string precisionOption(Arguments& args) { return networkOption(args, "precision", "fp32", models::setPrecision); }

void checkPrecision(const std::string& model, models::Backprop backprop, const std::string& precision) {
    const bool reversible = models::modelByName(model).family == models::Family::RevNet && backprop == models::Backprop::Reversible;
    if (reversible && precision == "fp16")
        throw UsageError("--precision fp16 halves what stored backprop keeps; reversible backprop keeps only the "
                         "RevNet's residual streams, fp32 for exact reconstruction (add --backprop stored, or drop "
                         "--precision)");
}

int modelsCommand(Arguments& args) {
    if (args.help()) {
        std::printf(kHelp, kCouplingHelp, kEngineOptionsHelp);
        return 0;
    }
    const auto inputText = args.option("input"), classesText = args.option("classes");
    const ImageShape givenInput = parseImageShape(inputText.value_or("3x32x32"), "--input");
    const auto givenClasses = static_cast<uint32_t>(parseCount(classesText.value_or("10"), kMaxClasses).value_or(0));
    const bool check = args.flag("check-reconstruction");
    const auto batch = static_cast<uint32_t>(args.count("batch", 8, kMaxBatch));
    const std::string coupling = couplingOption(args);
    const EngineOptions options = engineOptions(args);
    const auto names = args.rest();
    args.finish();
    if (givenClasses == 0) throw UsageError("--classes: '" + *classesText + "' is not a count from 1 to " + std::to_string(kMaxClasses));
    if (batch == 0) throw UsageError("--batch must be at least 1");
    // Without --input and --classes, each model is expanded for its stem's data: CIFAR's or ImageNet's.
    auto expanded = [&](const models::ModelSpec& m) {
        const bool imagenet = m.stem == models::Stem::ImageNet;
        const ImageShape input = inputText ? givenInput : imagenet ? ImageShape{3, 224, 224} : ImageShape{3, 32, 32};
        return models::expand(m, input.c, input.h, input.w, classesText ? givenClasses : imagenet ? 1000 : 10);
    };

    if (names.empty()) {
        if (check) throw UsageError("say which models to check");
        std::printf("%-12s %-8s %-11s %-9s %-20s %-9s %12s\n", "model", "family", "block", "units", "channels", "stem",
                    "parameters");
        for (const auto& m : models::catalog()) {
            std::printf("%-12s %-8s %-11s %-9s %-20s %-9s %12llu\n", m.name.c_str(),
                        m.family == models::Family::RevNet ? "RevNet" : "ResNet",
                        m.block == models::Block::Basic ? "basic" : "bottleneck", models::joined(m.units).c_str(),
                        models::joined(m.channels, ',').c_str(), m.stem == models::Stem::ImageNet ? "ImageNet" : "CIFAR",
                        static_cast<unsigned long long>(expanded(m).parameterCount()));
        }
        if (inputText || classesText)
            std::printf("\n(parameters for %s inputs and %s classes)\n", inputText ? inputText->c_str() : "their",
                        classesText ? classesText->c_str() : "their");
        else
            std::printf("\n(parameters for 3x32x32 inputs and 10 classes; ImageNet-stem models for 3x224x224 and 1000)\n");
        std::printf("Any other shape is a spec: revnet:units=2-2-2-2,channels=32-32-64-128-256[,block=bottleneck]\n"
                    "[,stem=imagenet] (resnet:... likewise, with activation=post for torchvision's unit order:\n"
                    "batch norm after each convolution, ReLU after the sum; resnet-50 and resnet-101 are so).\n");
        return 0;
    }
    for (const auto& name : names) {
        const auto a = expanded(models::modelByName(name));
        if (!check) {
            std::printf("%s\n", a.describe().c_str());
            continue;
        }
        if (a.spec.family != models::Family::RevNet) throw UsageError(name + " is not a RevNet: nothing is rebuilt");
        checkReconstruction(a, batch, coupling, options);
    }
    return 0;
}

}  // namespace revnet::cli
