#include "revnet/models/network.hpp"

#include <bit>
#include <charconv>

#include "revnet/kernels/elementwise.hpp"
#include "revnet/kernels/half_storage.hpp"
#include "revnet/kernels/linear.hpp"
#include "revnet/kernels/loss.hpp"
#include "revnet/kernels/pooling.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>

namespace revnet::models {

namespace {

uint64_t roundUp4(uint64_t n) { return (n + 3) / 4 * 4; }

bool reversibleMode(const Architecture& a, const NetworkOptions& o) {
    return a.spec.family == Family::RevNet && o.backprop == Backprop::Reversible;
}

// RevNets couple on the fixed-point grid in either backprop mode, so that both compute the same.
bool fixedPoint(const Architecture& a, const NetworkOptions& o) {
    return a.spec.family == Family::RevNet && o.coupling == Coupling::FixedPoint;
}

// The convolutions of a residual function on its input shape: step i's input and output.
std::vector<kernels::Conv2dShape> functionConvs(const FunctionSpec& f, uint32_t batch, uint32_t h, uint32_t w) {
    std::vector<kernels::Conv2dShape> out;
    for (const auto& s : f.steps) {
        const kernels::Conv2dShape shape{{batch, s.conv.in, h, w}, s.conv.out, s.conv.kernel, s.conv.kernel, s.conv.stride,
                                         s.conv.pad()};
        out.push_back(shape);
        h = shape.output().h, w = shape.output().w;
    }
    return out;
}

Shape unitInput(const UnitSpec& u, uint32_t n) { return {n, u.inChannels, u.inSize, u.inWidth}; }
Shape unitOutput(const UnitSpec& u, uint32_t n) { return {n, u.outChannels, u.outSize, u.outWidth}; }
// The stem convolution's output (and batch norm's, in place).
Shape stemShape(const Architecture& a, uint32_t n) { return {n, a.stem.out, a.stemHeight, a.stemWidth}; }
kernels::Conv2dShape stemConvShape(const Architecture& a, uint32_t n) {
    return {{n, a.inChannels, a.height, a.width}, a.stem.out, a.stem.kernel, a.stem.kernel, a.stem.stride, a.stem.pad()};
}

std::vector<const FunctionSpec*> functionsOf(const UnitSpec& u) {
    std::vector<const FunctionSpec*> out{&u.f};
    if (!u.g.steps.empty()) out.push_back(&u.g);
    return out;
}

kernels::Conv2dShape projectionShape(const UnitSpec& u, uint32_t n, uint32_t div) {
    return {{n, u.inChannels / div, u.inSize, u.inWidth}, u.outChannels / div, 1, 1, u.stride, 0};
}

constexpr const char* kReversibleHalves =
    "fp16 storage halves what stored backprop keeps; reversible backprop keeps only a RevNet's residual "
    "streams, which stay fp32 for exact reconstruction, so it has nothing to store as halves";

uint32_t halves(const Architecture& a) { return a.spec.family == Family::RevNet ? 2 : 1; }

// --precision fp16: the packed halves of channel group `part` of `parts` (a RevNet unit's halves
// are stored and loaded apart) of a kept tensor of `shape`; packedElements is the whole's size.
TensorView packedPart(const Tensor& packed, const Shape& s, uint32_t parts, uint32_t part) {
    const uint32_t length = uint32_t(kernels::packedLength(uint64_t{s.c / parts} * s.h * s.w));
    return packed.view({s.n, parts, 1, length}).channels(part, 1);
}
uint64_t packedElements(const Shape& s, uint32_t parts) {
    return uint64_t{s.n} * parts * kernels::packedLength(uint64_t{s.c / parts} * s.h * s.w);
}

// A unit whose shortcut is the identity updates its output's gradient in place into its input's;
// any other writes its input's gradient into the other of the two activation-gradient tensors.
bool gradientInPlace(const UnitSpec& u) { return u.shortcut == Shortcut::Identity; }

// The two activation-gradient tensors' sizes: the top's gradient starts in the first.
std::array<uint64_t, 2> gradientSizes(const Architecture& a, uint32_t n) {
    std::array<uint64_t, 2> sizes{uint64_t{n} * a.topChannels * a.topHeight * a.topWidth, 0};
    int current = 0;
    for (auto it = a.units.rbegin(); it != a.units.rend(); ++it) {
        if (gradientInPlace(*it)) continue;
        current = 1 - current;
        sizes[current] = std::max(sizes[current], unitInput(*it, n).elements());
    }
    // The max pool's backward writes the stem's gradient beside the first unit's input's.
    if (a.stemPool()) sizes[1 - current] = std::max(sizes[1 - current], stemShape(a, n).elements());
    return sizes;
}

}  // namespace

void setCoupling(NetworkOptions& options, std::string_view text) {
    if (text == "float") {
        options.coupling = Coupling::Float;
        return;
    }
    uint32_t bits = kDefaultFixedPointBits;
    const std::string_view fixed = "fixed", withBits = "fixed:";
    if (text.starts_with(withBits)) {
        const std::string_view digits = text.substr(withBits.size());
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
        if (error != std::errc() || end != digits.data() + digits.size() || bits == 0 || bits > 23)
            throw std::invalid_argument("coupling '" + std::string(text) + "': fixed:BITS takes 1 to 23 fraction bits");
    } else if (text != fixed) {
        throw std::invalid_argument("coupling '" + std::string(text) + "': float, fixed or fixed:BITS");
    }
    options.coupling = Coupling::FixedPoint;
    options.fixedPointBits = bits;
}

std::string couplingName(const NetworkOptions& options) {
    return options.coupling == Coupling::Float ? "float" : "fixed:" + std::to_string(options.fixedPointBits);
}

void setPrecision(NetworkOptions& options, std::string_view text) {
    if (text == "fp32") options.precision = Precision::Float32;
    else if (text == "fp16") options.precision = Precision::Float16;
    else throw std::invalid_argument("precision '" + std::string(text) + "': fp32 or fp16");
}

std::string precisionName(const NetworkOptions& options) {
    return options.precision == Precision::Float16 ? "fp16" : "fp32";
}

std::vector<PlannedTensor> planTensors(const Architecture& a, const NetworkOptions& o, const DeviceInfo& device) {
    const uint32_t n = o.batch;
    if (n == 0) throw std::invalid_argument("batch size must be at least 1");
    const bool rev = reversibleMode(a, o), half = o.precision == Precision::Float16;
    std::vector<PlannedTensor> plan;
    auto add = [&](std::string name, Category c, uint64_t elements, TensorRole role, uint32_t index = 0) {
        plan.push_back({std::move(name), c, elements, role, index});
    };
    // Halves: a kept tensor holds packed halves, loaded for the backward pass into "half loads"
    // (or, for stored units' outputs, into the two float32 streams the forward pass writes).
    uint64_t loads = 0, streams = 0;
    auto kept = [&](const Shape& s, uint32_t parts) { return half ? packedElements(s, parts) : s.elements(); };
    if (half && rev) throw std::invalid_argument(kReversibleHalves);

    uint64_t weights = 0;
    for (const auto& p : a.parameters()) weights += roundUp4(p.elements());
    uint64_t statistics = 0;
    for (const auto& [name, channels] : a.batchNorms()) statistics += 2 * roundUp4(2 * uint64_t{channels});
    const bool training = !o.inferenceOnly;
    add("weights", Category::Parameters, weights, TensorRole::Weights);
    if (training) add("gradients", Category::Gradients, weights, TensorRole::Gradients);
    add("batch-norm statistics", Category::Statistics, statistics, TensorRole::Statistics);
    add("input", Category::Data, uint64_t{n} * a.inChannels * a.height * a.width, TensorRole::Input);
    add("labels", Category::Data, n, TensorRole::Labels);
    add("metrics", Category::Workspace, 2, TensorRole::Metrics);
    if (fixedPoint(a, o)) {
        if (o.fixedPointBits == 0 || o.fixedPointBits > 23)
            throw std::invalid_argument("a fixed-point coupling needs 1 to 23 fraction bits, not " +
                                        std::to_string(o.fixedPointBits));
        add("coupling overflow", Category::Workspace, 1, TensorRole::CouplingOverflow);
    }

    // The stem's output, also its convolution's (batch norm runs in place; the backward pass
    // recomputes the convolution there once the first unit no longer needs its input). Under the
    // ImageNet stem the units see it max-pooled, and the pooling's backward reads it.
    const uint64_t top = uint64_t{n} * a.topChannels * a.topHeight * a.topWidth;
    add("stem output", Category::Activations, stemShape(a, n).elements(), TensorRole::StemOutput);
    if (a.stemPool())
        add("stem pooled", Category::Activations, kernels::maxPool3x3Output(stemShape(a, n)).elements(), TensorRole::StemPooled);
    uint64_t scratch = top;
    uint64_t convWork = kernels::Conv2d(device, stemConvShape(a, n), o.variant).workspaceElements();
    uint64_t normSums = 0;  // batch norms' statistics and parameter gradients summed by convolutions
    std::vector<uint64_t> shared;  // reversible: the kept conv outputs every function shares
    const uint32_t div = halves(a);
    uint32_t keptConvs = 0;
    for (uint32_t unit = 0; unit < a.units.size(); ++unit) {
        const UnitSpec& u = a.units[unit];
        // Reversible units update their stage's tensor in place.
        // A RevNet's stage tensors are its residual streams: float32, for exact reconstruction.
        if (rev && !u.reversible)
            add(u.prefix + " output", Category::Activations, unitOutput(u, n).elements(), TensorRole::UnitOutput, unit);
        if (!rev) add(u.prefix + " output", Category::Activations, kept(unitOutput(u, n), div), TensorRole::UnitOutput, unit);
        streams = std::max(streams, unitOutput(u, n).elements());
        if (u.shortcut == Shortcut::Projection)
            convWork = std::max(convWork, kernels::Conv2d(device, projectionShape(u, n, div), o.variant).workspaceElements());
        // A projection's batch norm needs the convolution's output in its backward pass.
        if (u.projectionNorm)
            add(u.prefix + ".shortcut output", Category::Activations, kept(unitOutput(u, n), 1), TensorRole::ShortcutOutput, unit);
        if (u.projectionNorm) loads = std::max(loads, unitOutput(u, n).elements());
        for (const FunctionSpec* f : functionsOf(u)) {
            // F sees the unit's input; G sees y1, at the unit's output size.
            const bool isF = f == &u.f;
            const auto convs = functionConvs(*f, n, isF ? u.inSize : u.outSize, isF ? u.inWidth : u.outWidth);
            scratch = std::max(scratch, convs.back().output().elements());
            if (shared.size() + 1 < convs.size()) shared.resize(convs.size() - 1, 0);
            for (std::size_t i = 0; i < convs.size(); ++i) {
                scratch = std::max(scratch, convs[i].input.elements());
                const kernels::Conv2d conv(device, convs[i], o.variant);
                convWork = std::max(convWork, conv.workspaceElements());
                normSums = std::max({normSums, conv.normSumsPartials(), conv.outputStatsPartials()});
                if (i + 1 == convs.size() && !f->outputNorm) continue;
                const uint64_t elements = kept(convs[i].output(), 1);
                loads = std::max(loads, convs[i].output().elements());
                if (rev) shared[i] = std::max(shared[i], elements);
                else
                    add(f->prefix + ".conv" + std::to_string(i + 1) + " output", Category::Activations, elements,
                        TensorRole::KeptConvOutput, keptConvs++);
            }
        }
    }
    for (std::size_t i = 0; i < shared.size(); ++i)
        add("shared conv" + std::to_string(i + 1) + " output", Category::Workspace, shared[i], TensorRole::SharedConvOutput,
            uint32_t(i));
    if (half && loads) add("half loads", Category::Workspace, loads, TensorRole::HalfLoads);
    if (half && !rev) {
        add("stream 1", Category::Workspace, streams, TensorRole::Stream, 0);
        add("stream 2", Category::Workspace, streams, TensorRole::Stream, 1);
    }
    add("pooled", Category::Activations, uint64_t{n} * a.topChannels, TensorRole::Pooled);
    add("logits", Category::Workspace, uint64_t{n} * a.classes, TensorRole::Logits);
    add("logit gradients", Category::Workspace, uint64_t{n} * a.classes, TensorRole::LogitGradients);
    if (training) add("pooled gradients", Category::Workspace, uint64_t{n} * a.topChannels, TensorRole::PooledGradients);
    add("scratch 1", Category::Workspace, scratch, TensorRole::Scratch, 0);
    add("scratch 2", Category::Workspace, scratch, TensorRole::Scratch, 1);
    add("convolution workspace", Category::Workspace, std::max<uint64_t>(convWork, 4), TensorRole::ConvolutionWorkspace);
    if (!training) return plan;
    const auto gradients = gradientSizes(a, n);
    add("activation gradients 1", Category::Workspace, gradients[0], TensorRole::ActivationGradients, 0);
    add("activation gradients 2", Category::Workspace, std::max<uint64_t>(gradients[1], 4), TensorRole::ActivationGradients, 1);
    uint64_t partials = normSums;  // and the split batch-norm reductions
    for (const auto& [name, channels] : a.batchNorms())
        partials = std::max(partials, kernels::batchNormPartials(channels, n));
    if (partials) add("batch-norm partial sums", Category::Workspace, partials, TensorRole::BatchNormPartials);
    uint64_t shares = 0;  // synchronized batch norm: every process's statistics
    for (const auto& [name, channels] : a.batchNorms())
        if (o.syncBatchNorm) shares = std::max(shares, kernels::batchNormSharesWorkspace(channels, o.syncBatchNorm->count));
    if (shares) add("batch-norm shares", Category::Workspace, shares, TensorRole::BatchNormShares);
    return plan;
}

struct Network::Buffers {
    std::map<std::pair<TensorRole, uint32_t>, const Tensor*> byRole;
    // The planned tensor of this role and index, or null where the plan has none.
    const Tensor* find(TensorRole role, uint32_t index = 0) const {
        auto it = byRole.find({role, index});
        return it == byRole.end() ? nullptr : it->second;
    }
    const Tensor& operator()(TensorRole role, uint32_t index = 0) const {
        if (const Tensor* t = find(role, index)) return *t;
        throw std::logic_error("network: no planned tensor of role " + std::to_string(int(role)) + " index " +
                               std::to_string(index));
    }
    FunctionBuffers shared;
};

struct Network::Unit {
    const UnitSpec* spec;
    ResidualFunction f, g;
    FunctionBuffers fBuffers, gBuffers;
    std::vector<ConvLayer> projections;  // one per half (RevNet) or one (ResNet)
    std::optional<BatchNormLayer> projectionNorm;
    const Tensor* projectionOutput = nullptr;  // kept for the projection's batch norm
    const Tensor *input, *output;
    // --precision fp16, stored backprop: the packed halves of the output and of the input (the
    // previous unit's output); input and output are then the float32 streams.
    const Tensor *keptOutput = nullptr, *keptInput = nullptr;
    int probe = -1;
};

Network::Network(Engine& engine, Architecture architecture, NetworkOptions options)
    : engine_(engine), architecture_(std::move(architecture)), options_(options), buffers_(std::make_unique<Buffers>()) {
    for (const auto& p : planTensors(architecture_, options_, engine.info())) {
        tensors_.push_back(std::make_unique<Tensor>(
            engine.tensor({1, 1, 1, static_cast<uint32_t>(p.elements)}, p.category, p.name)));
        if (!buffers_->byRole.emplace(std::pair{p.role, p.index}, tensors_.back().get()).second)
            throw std::logic_error("network: the plan gives " + p.name + " a role and index another tensor has");
    }
    const Buffers& b = *buffers_;
    if (const Tensor* shares = b.find(TensorRole::BatchNormShares)) options_.syncBatchNorm->gathered = shares->view();
    weights_ = &b(TensorRole::Weights);
    gradients_ = b.find(TensorRole::Gradients);  // none for inference
    statistics_ = &b(TensorRole::Statistics);
    input_ = &b(TensorRole::Input);
    labels_ = &b(TensorRole::Labels);
    metrics_ = &b(TensorRole::Metrics);
    if ((couplingOverflow_ = b.find(TensorRole::CouplingOverflow)))
        engine.upload(*couplingOverflow_, std::vector<float>{0.0f});  // the flag clear: uint 0
    for (uint32_t i = 0; const Tensor* kept = b.find(TensorRole::SharedConvOutput, i); ++i) buffers_->shared.kept.push_back(kept);
    buildParameters();
    buildUnits();
}

Network::~Network() = default;

bool Network::couplingOverflowed() const {
    if (!couplingOverflow_) return false;
    return std::bit_cast<uint32_t>(engine_.download(*couplingOverflow_)[0]) != 0;  // a uint flag
}

void Network::buildParameters() {
    auto specs = architecture_.parameters();
    std::stable_partition(specs.begin(), specs.end(), [](const ParameterSpec& p) { return p.decay(); });
    uint64_t offset = 0;
    for (const auto& p : specs) {
        parameters_.push_back({p, offset});
        offset += roundUp4(p.elements());
        if (p.decay()) decayed_ = offset;
    }
    uint64_t at = 0;
    for (const auto& [name, channels] : architecture_.batchNorms()) {
        const uint64_t size = roundUp4(2 * uint64_t{channels});
        statisticsLocations_.push_back({name, {channels, at, at + size}});
        at += 2 * size;
    }
}

const Network::Parameter& Network::parameter(const std::string& name) const {
    for (const auto& p : parameters_)
        if (p.spec.name == name) return p;
    throw std::invalid_argument("network has no parameter " + name);
}

TensorView Network::batchInput() const {
    return input_->view({options_.batch, architecture_.inChannels, architecture_.height, architecture_.width});
}

Network::StatisticsLocation Network::statisticsOf(const std::string& batchNorm) const {
    for (const auto& [name, location] : statisticsLocations_)
        if (name == batchNorm) return location;
    throw std::invalid_argument("network has no batch norm " + batchNorm);
}

TensorView Network::runningStatistics(const std::string& batchNorm) const {
    const StatisticsLocation at = statisticsOf(batchNorm);
    return statistics_->view({1, 1, 1, 2 * at.channels}, at.running);
}

TensorView Network::batchStatistics(const std::string& batchNorm) const {
    const StatisticsLocation at = statisticsOf(batchNorm);
    return statistics_->view({1, 1, 1, 2 * at.channels}, at.batch);
}

namespace {

Shape shapeOf(const ParameterSpec& p) { return {p.shape[0], p.shape[1], p.shape[2], p.shape[3]}; }

}  // namespace

TensorView Network::weightOf(const std::string& name) const {
    const Parameter& p = parameter(name);
    return weights_->view(shapeOf(p.spec), p.offset);
}

TensorView Network::gradientOf(const std::string& name) const {
    const Parameter& p = parameter(name);
    return gradients_ ? gradients_->view(shapeOf(p.spec), p.offset) : TensorView{};  // none for inference
}

const Tensor& Network::gradients() const {
    if (!gradients_) throw std::logic_error("an inference-only network has no gradients");
    return *gradients_;
}

BatchNormLayer Network::batchNorm(const std::string& prefix) const {
    return {weightOf(prefix + ".weight"), weightOf(prefix + ".bias"), gradientOf(prefix + ".weight"),
            gradientOf(prefix + ".bias"), batchStatistics(prefix), runningStatistics(prefix)};
}

kernels::Conv2d Network::stemConvolution() const {
    return kernels::Conv2d(engine_.info(), stemConvShape(architecture_, options_.batch), options_.variant);
}

void Network::buildUnits() {
    const uint32_t n = options_.batch, div = halves(architecture_);
    const bool rev = reversibleMode(architecture_, options_);
    const Buffers& b = *buffers_;
    uint32_t keptConvs = 0;  // stored backprop: the kept convolution outputs, in the plan's order (units, F then G)
    auto function = [&](const FunctionSpec& f, uint32_t h, uint32_t w, FunctionBuffers& buffers) {
        ResidualFunction out;
        const auto convs = functionConvs(f, n, h, w);
        for (std::size_t i = 0; i < f.steps.size(); ++i) {
            const std::string index = std::to_string(i + 1);
            Step s{std::nullopt, {kernels::Conv2d(engine_.info(), convs[i], options_.variant),
                                  weightOf(f.prefix + ".conv" + index + ".weight"), gradientOf(f.prefix + ".conv" + index + ".weight")}};
            if (f.steps[i].bn) s.norm = batchNorm(f.normName(i));
            out.steps.push_back(std::move(s));
            if (!rev && (i + 1 < f.steps.size() || f.outputNorm)) buffers.kept.push_back(&b(TensorRole::KeptConvOutput, keptConvs++));
        }
        if (f.outputNorm) out.outputNorm = batchNorm(f.outputNormName());
        if (rev) buffers = b.shared;
        return out;
    };

    const Tensor* current = &b(architecture_.stemPool() ? TensorRole::StemPooled : TensorRole::StemOutput);
    const Tensor* stage = current;
    const bool streams = b.find(TensorRole::Stream);
    const Tensor* keptInput = nullptr;
    for (uint32_t index = 0; index < architecture_.units.size(); ++index) {
        const UnitSpec& u = architecture_.units[index];
        Unit unit{&u, {}, {}, {}, {}, {}, {}, nullptr, current, nullptr};
        unit.f = function(u.f, u.inSize, u.inWidth, unit.fBuffers);
        if (!u.g.steps.empty()) unit.g = function(u.g, u.outSize, u.outWidth, unit.gBuffers);
        if (u.shortcut == Shortcut::Projection) {
            const kernels::Conv2d conv(engine_.info(), projectionShape(u, n, div), options_.variant);
            const std::vector<std::string> names = div == 2 ? std::vector<std::string>{".shortcut1.weight", ".shortcut2.weight"}
                                                            : std::vector<std::string>{".shortcut.weight"};
            for (const auto& name : names)
                unit.projections.push_back({conv, weightOf(u.prefix + name), gradientOf(u.prefix + name)});
        }
        if (u.projectionNorm) {
            unit.projectionNorm = batchNorm(u.prefix + ".shortcut.bn");
            unit.projectionOutput = &b(TensorRole::ShortcutOutput, index);
        }
        if (rev && u.reversible) {
            unit.output = stage;  // in place on the stage's tensor
        } else if (streams) {
            unit.output = &b(TensorRole::Stream, unit.input == &b(TensorRole::Stream, 0) ? 1 : 0);
            unit.keptInput = keptInput;
            unit.keptOutput = keptInput = &b(TensorRole::UnitOutput, index);
        } else {
            unit.output = &b(TensorRole::UnitOutput, index);
            stage = unit.output;
        }
        current = unit.output;
        units_.push_back(std::move(unit));
    }
    if (b.find(TensorRole::KeptConvOutput, keptConvs)) throw std::logic_error("network: a planned convolution output is unused");
}

void Network::initialize(uint64_t seed) {
    std::mt19937_64 random(seed);
    std::vector<float> w(weights_->shape().elements(), 0.0f);
    for (const auto& p : parameters_) {
        float* at = w.data() + p.offset;
        const auto& s = p.spec.shape;
        switch (p.spec.kind) {
            case ParameterKind::Classifier:
            case ParameterKind::ClassifierBias: {  // PyTorch's linear layer: uniform in +-1/sqrt(fan in)
                const float bound = 1.0f / std::sqrt(float(architecture_.topChannels));
                std::uniform_real_distribution<float> uniform(-bound, bound);
                for (uint64_t i = 0; i < p.spec.elements(); ++i) at[i] = uniform(random);
                break;
            }
            case ParameterKind::Convolution: {  // He-normal, by fan-in
                std::normal_distribution<float> normal(0.0f, std::sqrt(2.0f / float(s[1] * s[2] * s[3])));
                for (uint64_t i = 0; i < p.spec.elements(); ++i) at[i] = normal(random);
                break;
            }
            case ParameterKind::NormScale: std::fill(at, at + p.spec.elements(), 1.0f); break;
            case ParameterKind::NormShift: std::fill(at, at + p.spec.elements(), 0.0f); break;
        }
    }
    engine_.upload(*weights_, w);
    if (gradients_) engine_.upload(*gradients_, std::vector<float>(gradients_->shape().elements(), 0.0f));
    std::vector<float> stats(statistics_->shape().elements(), 0.0f);
    for (const auto& [name, at] : statisticsLocations_)  // running variance 1
        std::fill(stats.begin() + at.running + at.channels, stats.begin() + at.running + 2 * at.channels, 1.0f);
    engine_.upload(*statistics_, stats);
}

Context Network::context(Recorder& recorder) const {
    const Buffers& b = *buffers_;
    kernels::BatchNormOptions bn;
    bn.eps = options_.bnEps;
    bn.momentum = options_.bnMomentum;
    bn.relu = true;  // every batch norm here is followed by a ReLU
    bn.variant = options_.variant;
    if (const Tensor* partials = b.find(TensorRole::BatchNormPartials)) bn.partials = partials->view();
    if (b.find(TensorRole::BatchNormShares)) bn.shares = &*options_.syncBatchNorm;
    std::optional<kernels::FixedPoint> fixed;
    if (couplingOverflow_) fixed = kernels::FixedPoint{options_.fixedPointBits, couplingOverflow_->view()};
    return Context{{engine_.pipelines(), recorder}, b(TensorRole::ConvolutionWorkspace),
                   {&b(TensorRole::Scratch, 0), &b(TensorRole::Scratch, 1)}, bn, fixed, b.find(TensorRole::HalfLoads)};
}

namespace {

struct Halves {
    TensorView first, second;
};
Halves halvesOf(const TensorView& v) {
    const uint32_t half = v.shape().c / 2;
    return {v.channels(0, half), v.channels(half, half)};
}

// A unit's projection for one half (RevNet) or the whole (ResNet): its convolution and, after
// it, a batch norm with the convolution's output kept for the backward pass (post-activation).
struct Projection {
    const ConvLayer* conv = nullptr;
    const BatchNormLayer* norm = nullptr;
    const Tensor* kept = nullptr;
};

// y = h(x) + r for a unit's shortcut h.
void shortcutForward(Context& c, const UnitSpec& u, const Projection& p, const TensorView& x, const TensorView& r,
                     const TensorView& y, Pass pass) {
    switch (u.shortcut) {
        case Shortcut::Identity: kernels::add(c.recording, x, r, y); return;
        case Shortcut::PoolPad:
            kernels::avgPool2x2Forward(c.recording, x, y, (y.shape().c - x.shape().c) / 2);
            break;
        case Shortcut::Projection:
            if (!p.norm) {
                p.conv->conv.forward(c.recording, x, p.conv->weight, y, c.convWorkspace);
                break;
            }
            if (c.halfLoads) {  // the convolution's output made in y, its halves kept, normalized in place
                p.conv->conv.forward(c.recording, x, p.conv->weight, y, c.convWorkspace);
                kernels::storeHalf(c.recording, y, kernels::packedView(*p.kept, y.shape()));
                normalize(c, *p.norm, y, y, pass, false);
                break;
            }
            p.conv->conv.forward(c.recording, x, p.conv->weight, p.kept->view(y.shape()), c.convWorkspace);
            normalize(c, *p.norm, p.kept->view(y.shape()), y, pass, false);
            break;
    }
    kernels::add(c.recording, y, r, y);
}

// dx = h^T(dy) (written), and the projection's gradients; a projection's batch norm passes its
// gradient through scratch 1.
void shortcutBackward(Context& c, const UnitSpec& u, const Projection& p, const TensorView& x, const TensorView& dy,
                      const TensorView& dx) {
    switch (u.shortcut) {
        case Shortcut::Identity: kernels::copy(c.recording, dy, dx); return;
        case Shortcut::PoolPad:
            kernels::avgPool2x2Backward(c.recording, dy, dx, (dy.shape().c - dx.shape().c) / 2, false);
            return;
        case Shortcut::Projection: {
            TensorView dConv = dy;
            if (p.norm) {
                kernels::BatchNormOptions linear = c.bn;
                linear.relu = false;
                dConv = c.scratch[0]->view(dy.shape());
                kernels::batchNormBackward(c.recording, loadKept(c, p.kept, dy.shape()), dy, p.norm->stats,
                                           p.norm->gamma, p.norm->beta, p.norm->dgamma, p.norm->dbeta, dConv, false,
                                           linear);
            }
            p.conv->conv.gradWeight(c.recording, x, dConv, p.conv->grad, c.convWorkspace);
            p.conv->conv.gradInput(c.recording, dConv, p.conv->weight, dx, c.convWorkspace);
            return;
        }
    }
}

Projection projectionOf(const std::vector<ConvLayer>& projections, std::size_t half,
                        const std::optional<BatchNormLayer>& norm, const Tensor* kept) {
    if (projections.empty()) return {};
    return {&projections[half], norm ? &*norm : nullptr, kept};
}

}  // namespace

void Network::recordForward(Context& c, Pass pass) const {
    const Buffers& b = *buffers_;
    const uint32_t n = options_.batch;
    const auto& a = architecture_;
    const TensorView stemOut = b(TensorRole::StemOutput).view(stemShape(a, n));
    stemConvolution().forward(c.recording, batchInput(), weightOf("stem.conv.weight"), stemOut,
                              c.convWorkspace);
    normalize(c, batchNorm("stem.bn"), stemOut, stemOut, pass);
    if (c.fixed) kernels::quantize(c.recording, stemOut, *c.fixed);  // where the couplings start
    if (a.stemPool())
        kernels::maxPool3x3Forward(c.recording, stemOut,
                                   b(TensorRole::StemPooled).view(kernels::maxPool3x3Output(stemOut.shape())));

    const bool rev = reversibleMode(architecture_, options_);
    bool inputStatistics = false;  // the batch statistics of this unit's x2 were taken as it was written
    for (std::size_t index = 0; index < units_.size(); ++index) {
        const Unit& unit = units_[index];
        const UnitSpec& u = *unit.spec;
        const TensorView x = unit.input->view(unitInput(u, n)), y = unit.output->view(unitOutput(u, n));
        if (a.spec.family == Family::ResNet) {
            const TensorView r = unit.f.forward(c, x, unit.fBuffers, pass);
            shortcutForward(c, u, projectionOf(unit.projections, 0, unit.projectionNorm, unit.projectionOutput), x, r,
                            y, pass);
            if (a.postActivation()) kernels::reluForward(c.recording, y, y);
            if (unit.keptOutput) kernels::storeHalf(c.recording, y, packedPart(*unit.keptOutput, y.shape(), 1, 0));
            continue;
        }
        if (unit.probe >= 0) kernels::copy(c.recording, x, probes_[unit.probe].first);
        const Halves xs = halvesOf(x), ys = halvesOf(y);
        const bool inPlace = rev && u.reversible;
        const Projection p1 = projectionOf(unit.projections, 0, {}, nullptr);
        const Projection p2 = projectionOf(unit.projections, 1, {}, nullptr);
        // Each half of the output is finished before G reads y1, so that a recomputation or the
        // backward pass of G sees what its forward saw: a unit that is not reversible puts it on the
        // fixed-point grid (reversible units then add to values on it), and under fp16 storage it is
        // kept as halves (rounded in place).
        auto completeHalf = [&](const TensorView& half, uint32_t part) {
            if (c.fixed && !u.reversible) kernels::quantize(c.recording, half, *c.fixed);
            if (unit.keptOutput)
                kernels::storeHalf(c.recording, half,
                                   packedPart(*unit.keptOutput, y.shape(), 2, part));
        };
        if (!u.reversible) {
            shortcutForward(c, u, p1, xs.first, unit.f.forward(c, xs.second, unit.fBuffers, pass, false, inputStatistics),
                            ys.first, pass);
            completeHalf(ys.first, 0);
            shortcutForward(c, u, p2, xs.second, unit.g.forward(c, ys.first, unit.gBuffers, pass), ys.second, pass);
            completeHalf(ys.second, 1);
            inputStatistics = false;
            continue;
        }
        // Reversible units add each function's result into the output half as the last convolution
        // stores it, in place or (stored backprop) onto a copy of the input half: both modes compute
        // the same, and that convolution takes the batch statistics of the sum for the norm that reads
        // it next (G's first, then the next unit's F's), except where the sum is rounded to halves
        // after it.
        const auto nextNorm = [&](const ResidualFunction& reader) { return unit.keptOutput ? nullptr : reader.fusedInputNorm(); };
        const ResidualFunction* nextF = index + 1 < units_.size() ? &units_[index + 1].f : nullptr;
        if (!inPlace) kernels::copy(c.recording, xs.first, ys.first);
        const bool y1Statistics = unit.f.couple(c, xs.second, ys.first, false, unit.fBuffers, pass,
                                                {inputStatistics, nextNorm(unit.g)});
        completeHalf(ys.first, 0);
        if (!inPlace) kernels::copy(c.recording, xs.second, ys.second);
        inputStatistics = unit.g.couple(c, ys.first, ys.second, false, unit.gBuffers, pass,
                                        {y1Statistics, nextF ? nextNorm(*nextF) : nullptr});
        completeHalf(ys.second, 1);
    }
    recordHeadForward(c, pass);
}

void Network::recordHeadForward(Context& c, Pass pass) const {
    const Buffers& b = *buffers_;
    const auto& a = architecture_;
    const uint32_t n = options_.batch;
    const Shape topShape{n, a.topChannels, a.topHeight, a.topWidth};
    const TensorView top = units_.back().output->view(topShape);
    TensorView act = top;
    if (a.headNorm()) {
        act = c.scratch[0]->view(topShape);
        normalize(c, batchNorm("head.bn"), top, act, pass);
    }
    const TensorView pooled = b(TensorRole::Pooled).view({n, a.topChannels, 1, 1});
    kernels::globalAvgPoolForward(c.recording, act, pooled);
    const kernels::LinearShape fc{n, a.topChannels, a.classes};
    kernels::linearForward(c.recording, fc, pooled, weightOf("head.fc.weight"), weightOf("head.fc.bias"),
                           b(TensorRole::Logits));
    kernels::softmaxCrossEntropy(c.recording, n, a.classes, b(TensorRole::Logits), *labels_, b(TensorRole::LogitGradients),
                                 *metrics_, 1.0f / float(n), pass == Pass::Inference);
}

// One unit's backward pass, from the gradient of its output in gradients[current] (current moves
// to its input's gradient).
void Network::recordUnitBackward(Context& c, const Unit& unit, const Tensor* const (&gradientTensors)[2], int& current) const {
    const auto& a = architecture_;
    const uint32_t n = options_.batch;
    const bool rev = reversibleMode(architecture_, options_);
    const UnitSpec& u = *unit.spec;
    const TensorView x = unit.input->view(unitInput(u, n)), y = unit.output->view(unitOutput(u, n));
    const TensorView dy = gradientTensors[current]->view(unitOutput(u, n));
    const TensorView dx = gradientInPlace(u) ? dy : gradientTensors[1 - current]->view(unitInput(u, n));
    if (!gradientInPlace(u)) current = 1 - current;
    // Halves: the output is in its stream still (the forward's, or loaded as the next unit's input).
    if (unit.keptInput) {
        const uint32_t parts = halves(a), c1 = x.shape().c / parts;
        for (uint32_t part = 0; part < parts; ++part)
            kernels::loadHalf(c.recording, packedPart(*unit.keptInput, x.shape(), parts, part),
                              x.channels(part * c1, c1));
    }
    if (a.spec.family == Family::ResNet) {  // dx = h^T(dy) + F^T(dy), dy through the ReLU after the sum first
        if (a.postActivation()) kernels::reluBackward(c.recording, y, dy, dy);
        if (!gradientInPlace(u))
            shortcutBackward(c, u, projectionOf(unit.projections, 0, unit.projectionNorm, unit.projectionOutput), x,
                             dy, dx);
        unit.f.backward(c, x, dy, dx, true, unit.fBuffers);
        return;
    }
    const Halves ys = halvesOf(y), dys = halvesOf(dy);
    if (rev && u.reversible) {
        // Rebuild x2 = y2 - G(y1), then x1 = y1 - F(x2), backpropagating through each as it
        // is recomputed: one recomputation of F and G per unit. Gradients stay in place.
        unit.g.couple(c, ys.first, ys.second, true, unit.gBuffers, Pass::Recompute);
        unit.g.backward(c, ys.first, dys.second, dys.first, true, unit.gBuffers, true);
        unit.f.couple(c, ys.second, ys.first, true, unit.fBuffers, Pass::Recompute);
        if (unit.probe >= 0) kernels::copy(c.recording, y, probes_[unit.probe].second);
        unit.f.backward(c, ys.second, dys.first, dys.second, true, unit.fBuffers, true);
        return;
    }
    // y1 = h(x1) + F(x2), y2 = h(x2) + G(y1): dy1 += G^T(dy2), dx2 = h^T(dy2) + F^T(dy1),
    // dx1 = h^T(dy1). In place (h the identity), dx2 = dy2 and dx1 = dy1 already.
    const Halves xs = halvesOf(x), dxs = halvesOf(dx);
    const Projection p1 = projectionOf(unit.projections, 0, {}, nullptr);
    const Projection p2 = projectionOf(unit.projections, 1, {}, nullptr);
    if (rev) unit.g.recompute(c, ys.first, unit.gBuffers);
    unit.g.backward(c, ys.first, dys.second, dys.first, true, unit.gBuffers, rev);
    if (!gradientInPlace(u)) shortcutBackward(c, u, p2, xs.second, dys.second, dxs.second);
    if (rev) unit.f.recompute(c, xs.second, unit.fBuffers);
    unit.f.backward(c, xs.second, dys.first, dxs.second, true, unit.fBuffers, rev);
    if (!gradientInPlace(u)) shortcutBackward(c, u, p1, xs.first, dys.first, dxs.first);
}

void Network::recordBackward(Context& c, const GradientsReady& ready) const {
    const Buffers& b = *buffers_;
    const auto& a = architecture_;
    const uint32_t n = options_.batch;
    const Tensor* gradientTensors[2] = {&b(TensorRole::ActivationGradients, 0), &b(TensorRole::ActivationGradients, 1)};
    int current = 0;

    // Head: fully connected, global pooling, batch norm + ReLU (pre-activation), into the top's gradient.
    const Shape topShape{n, a.topChannels, a.topHeight, a.topWidth};
    const kernels::LinearShape fc{n, a.topChannels, a.classes};
    kernels::linearGradParams(c.recording, fc, b(TensorRole::Pooled), b(TensorRole::LogitGradients), gradientOf("head.fc.weight"),
                              gradientOf("head.fc.bias"));
    kernels::linearGradInput(c.recording, fc, b(TensorRole::LogitGradients), weightOf("head.fc.weight"),
                             b(TensorRole::PooledGradients));
    const TensorView dTop = gradientTensors[current]->view(topShape);
    const TensorView dAct = a.headNorm() ? c.scratch[1]->view(topShape) : dTop;
    kernels::globalAvgPoolBackward(c.recording, b(TensorRole::PooledGradients).view({n, a.topChannels, 1, 1}), dAct, false);
    if (a.headNorm()) {
        const BatchNormLayer head = batchNorm("head.bn");
        kernels::batchNormBackward(c.recording, units_.back().output->view(topShape), dAct, head.stats,
                                   head.gamma, head.beta, head.dgamma, head.dbeta, dTop, false, c.bn);
    }
    ready(c.recording.recorder, "head.");

    for (auto it = units_.rbegin(); it != units_.rend(); ++it) {
        recordUnitBackward(c, *it, gradientTensors, current);
        ready(c.recording.recorder, it->spec->prefix + ".");
    }

    // Stem: the max pool's gradient (from the kept stem output), then, as the first unit no longer
    // needs its input, the stem's convolution is recomputed there for batch norm + ReLU's backward
    // (in place on the gradient), then its weight gradient (the images need none).
    const Shape stem = stemShape(a, n);
    const kernels::Conv2d stemConv = stemConvolution();
    const TensorView image = batchInput(), s = b(TensorRole::StemOutput).view(stem);
    const TensorView ds = gradientTensors[a.stemPool() ? 1 - current : current]->view(stem);
    if (a.stemPool())
        kernels::maxPool3x3Backward(c.recording, s,
                                    gradientTensors[current]->view(kernels::maxPool3x3Output(stem)), ds, false);
    stemConv.forward(c.recording, image, weightOf("stem.conv.weight"), s, c.convWorkspace);
    const BatchNormLayer norm = batchNorm("stem.bn");
    kernels::batchNormBackward(c.recording, s, ds, norm.stats, norm.gamma, norm.beta, norm.dgamma,
                               norm.dbeta, ds, false, c.bn);
    stemConv.gradWeight(c.recording, image, ds, gradientOf("stem.conv.weight"), c.convWorkspace);
    ready(c.recording.recorder, "stem.");
}

void Network::recordTrainingStep(Recorder& recorder, const GradientsReady& ready) const {
    if (options_.inferenceOnly) throw std::logic_error("an inference-only network records no training step");
    Context c = context(recorder);
    recordForward(c, Pass::Train);
    recordBackward(c, ready ? ready : [](Recorder&, std::string_view) {});
}

void Network::recordInference(Recorder& recorder) const {
    Context c = context(recorder);
    recordForward(c, Pass::Inference);
}

void Network::recordSgdUpdate(Recorder& recorder, const Tensor& momentum, const Tensor& rate,
                              const kernels::SgdOptions& options) const {
    if (options_.inferenceOnly) throw std::logic_error("an inference-only network has no gradients to apply");
    const uint64_t all = weights_->shape().elements();
    auto range = [](const Tensor& t, uint64_t first, uint64_t count) { return t.view({1, 1, 1, uint32_t(count)}, first); };
    auto update = [&](uint64_t first, uint64_t count, float decay) {
        if (count == 0) return;
        kernels::SgdOptions o = options;
        o.weightDecay = decay;
        kernels::sgdStep({engine_.pipelines(), recorder}, range(*weights_, first, count), range(*gradients_, first, count),
                         range(momentum, first, count), rate.view(), 0, o);
    };
    update(0, decayed_, options.weightDecay);
    update(decayed_, all - decayed_, 0.0f);
}

void Network::enableReconstructionCheck() {
    if (!reversibleMode(architecture_, options_)) throw std::logic_error("reconstruction check: not a reversible network");
    for (Unit& unit : units_) {
        if (!unit.spec->reversible) continue;
        const Shape s = unitInput(*unit.spec, options_.batch);
        unit.probe = static_cast<int>(probes_.size());
        probes_.emplace_back(engine_.tensor(s, Category::Other, unit.spec->prefix + " input (forward)"),
                             engine_.tensor(s, Category::Other, unit.spec->prefix + " input (rebuilt)"));
    }
}

std::vector<double> Network::reconstructionErrors() const {
    std::vector<double> errors;
    for (const auto& [forward, rebuilt] : probes_) {
        const auto a = engine_.download(forward), b = engine_.download(rebuilt);
        double largest = 0, error = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            largest = std::max(largest, double(std::fabs(a[i])));
            error = std::max(error, double(std::fabs(a[i] - b[i])));
        }
        errors.push_back(largest > 0 ? error / largest : error);
    }
    return errors;
}

}  // namespace revnet::models
