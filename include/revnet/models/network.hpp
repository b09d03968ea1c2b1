// A network on a device: its parameters, batch-norm statistics and activation memory laid out up
// front from the architecture, and the recordings of a training step (forward, loss, backward)
// and of inference. Reversible backprop keeps only the inputs of non-reversible units and the top
// output and rebuilds the rest; stored backprop (and every ResNet) keeps every unit's output and
// the conv outputs inside its functions, as ordinary backprop does. Neither keeps batch-norm +
// ReLU outputs: the backward pass rebuilds each from its input where it needs it.
#pragma once

#include "revnet/engine/engine.hpp"
#include "revnet/models/architecture.hpp"
#include "revnet/kernels/sgd.hpp"
#include "revnet/models/residual_function.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace revnet::models {

enum class Backprop { Reversible, Stored };

// How a RevNet's couplings add: in plain float32 (reconstruction drifts by rounding), or on a
// fixed-point grid of 2^-fixedPointBits, where it is exact (docs/NUMERICS.md).
enum class Coupling { Float, FixedPoint };
constexpr uint32_t kDefaultFixedPointBits = 14;

// How stored backprop keeps activations between the forward and backward passes: float32, or as
// halves (each unit's output and the conv outputs inside its functions). Arithmetic, parameters,
// gradients and optimizer state are float32 either way (docs/NUMERICS.md). Reversible backprop
// keeps only a RevNet's residual streams, float32 for exact reconstruction: planning it with
// Float16 throws std::invalid_argument.
enum class Precision { Float32, Float16 };

struct NetworkOptions {
    uint32_t batch = 128;
    Backprop backprop = Backprop::Reversible;  // a ResNet always stores
    kernels::Variant variant = kernels::Variant::Auto;
    float bnMomentum = 0.1f, bnEps = 1e-5f;
    Coupling coupling = Coupling::FixedPoint;  // RevNets only
    uint32_t fixedPointBits = kDefaultFixedPointBits;
    Precision precision = Precision::Float32;
    // Synchronized batch norm over processes that each hold `batch` samples of a larger batch
    // (kernels::BatchNormShares; the network plans and sets its workspace). Unset: this batch alone.
    std::optional<kernels::BatchNormShares> syncBatchNorm;
    // Plans and allocates what inference needs alone (no gradients, no backward workspace):
    // recordTrainingStep and recordSgdUpdate then throw std::logic_error.
    bool inferenceOnly = false;
};

// "float", "fixed" (kDefaultFixedPointBits) or "fixed:BITS" (1 to 23 fraction bits) into options;
// throws std::invalid_argument naming the text otherwise. couplingName is its inverse.
void setCoupling(NetworkOptions& options, std::string_view text);
std::string couplingName(const NetworkOptions& options);
// "fp32" or "fp16" into options (throws std::invalid_argument naming the text otherwise), and back.
void setPrecision(NetworkOptions& options, std::string_view text);
std::string precisionName(const NetworkOptions& options);

// What a planned tensor is for. The network finds its tensors by role and index (the unit of a
// unit's output, the position of a kept or shared convolution output, which of two streams,
// scratch tensors or gradient buffers); the name labels it in the memory ledger.
enum class TensorRole {
    Weights, Gradients, Statistics, Input, Labels, Metrics, CouplingOverflow,
    StemOutput, StemPooled, UnitOutput, ShortcutOutput, KeptConvOutput, SharedConvOutput,
    HalfLoads, Stream, Pooled, Logits, LogitGradients, PooledGradients, Scratch, ConvolutionWorkspace,
    ActivationGradients, BatchNormPartials, BatchNormShares,
};

// One device tensor the network will hold, planned before anything is allocated.
struct PlannedTensor {
    std::string name;
    Category category;
    uint64_t elements;
    TensorRole role;
    uint32_t index = 0;
};

// Every tensor a network of this architecture holds during a training step, in allocation order.
std::vector<PlannedTensor> planTensors(const Architecture& architecture, const NetworkOptions& options,
                                       const DeviceInfo& device);

class Network {
public:
    Network(Engine& engine, Architecture architecture, NetworkOptions options);
    ~Network();

    const Architecture& architecture() const { return architecture_; }
    const NetworkOptions& options() const { return options_; }

    struct Parameter {
        ParameterSpec spec;
        uint64_t offset;  // in weights() and gradients()
    };
    const std::vector<Parameter>& parameters() const { return parameters_; }
    const Parameter& parameter(const std::string& name) const;
    // All weights in one tensor (and their gradients in another, same layout): the ones taking
    // weight decay (conv and fully connected weights) first.
    const Tensor& weights() const { return *weights_; }
    const Tensor& gradients() const;  // std::logic_error when inferenceOnly
    // Batch-norm running statistics then batch statistics, per layer [mean C, var C].
    const Tensor& statistics() const { return *statistics_; }
    struct StatisticsLocation {
        uint32_t channels;
        uint64_t running, batch;  // element offsets in statistics()
    };
    StatisticsLocation statisticsOf(const std::string& batchNorm) const;

    // Fresh weights (He-normal convolutions, uniform fully connected, unit gamma, zero beta),
    // running statistics (mean 0, variance 1), zero gradients; the same seed gives the same net.
    void initialize(uint64_t seed);

    // What a step reads: images (N x C x H x W), labels (N uint32), and writes: metrics [sum of
    // losses, correct count].
    const Tensor& input() const { return *input_; }
    TensorView batchInput() const;  // input() as N x C x H x W
    const Tensor& labels() const { return *labels_; }
    const Tensor& metrics() const { return *metrics_; }
    // Fixed-point couplings (a RevNet's, unless Coupling::Float): whether the couplings round to a
    // grid, and whether any step so far put a value past its exact range (reconstruction then no
    // longer exact; never cleared). The second reads a flag back from the device: not per step.
    bool roundsCouplings() const { return couplingOverflow_ != nullptr; }
    bool couplingOverflowed() const;

    // Forward with batch statistics (running statistics updated once), mean loss, backward into
    // gradients(). Metrics are overwritten. `ready`, if given, is called as the backward pass is
    // recorded, each time the gradients of the parameters named `prefix`... are final: "head.",
    // each unit's ("stage3.unit1."), top to bottom, then "stem." (data-parallel runs start
    // exchanging them there, while the rest of the backward pass runs).
    using GradientsReady = std::function<void(Recorder& recorder, std::string_view prefix)>;
    void recordTrainingStep(Recorder& recorder, const GradientsReady& ready = {}) const;
    // Forward with running statistics; metrics accumulate over the batches it is replayed on.
    void recordInference(Recorder& recorder) const;
    // Momentum SGD of every weight from gradients(), the learning rate read from rate[0] on the
    // device; options.weightDecay applies to the weights that take decay only.
    void recordSgdUpdate(Recorder& recorder, const Tensor& momentum, const Tensor& rate,
                         const kernels::SgdOptions& options) const;

    // Reversible backprop's rebuilt unit inputs against the forward's: a copy of each reversible
    // unit's input is taken in the forward and after its rebuild in the backward. Call before
    // recording; then, after a run, the largest error per unit relative to the input's largest |value|.
    void enableReconstructionCheck();
    std::vector<double> reconstructionErrors() const;

private:
    struct Unit;
    struct Buffers;
    void buildParameters();
    void buildUnits();
    Context context(Recorder& recorder) const;
    void recordForward(Context& c, Pass pass) const;
    void recordBackward(Context& c, const GradientsReady& ready) const;
    void recordUnitBackward(Context& c, const Unit& unit, const Tensor* const (&gradientTensors)[2], int& current) const;
    void recordHeadForward(Context& c, Pass pass) const;

    Engine& engine_;
    Architecture architecture_;
    NetworkOptions options_;
    std::vector<Parameter> parameters_;
    uint64_t decayed_ = 0;
    std::vector<std::unique_ptr<Tensor>> tensors_;  // everything planTensors() lists, in its order
    const Tensor *weights_ = nullptr, *gradients_ = nullptr, *statistics_ = nullptr;
    const Tensor *input_ = nullptr, *labels_ = nullptr, *metrics_ = nullptr, *couplingOverflow_ = nullptr;
    std::unique_ptr<Buffers> buffers_;
    std::vector<Unit> units_;
    std::vector<std::pair<std::string, StatisticsLocation>> statisticsLocations_;
    TensorView runningStatistics(const std::string& batchNorm) const;
    TensorView batchStatistics(const std::string& batchNorm) const;
    TensorView weightOf(const std::string& parameter) const;
    TensorView gradientOf(const std::string& parameter) const;
    BatchNormLayer batchNorm(const std::string& prefix) const;
    kernels::Conv2d stemConvolution() const;
    std::vector<std::pair<Tensor, Tensor>> probes_;
};

}  // namespace revnet::models
