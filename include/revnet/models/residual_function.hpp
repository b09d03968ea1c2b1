// A residual function (F or G of a unit, or a ResNet unit's branch) on the device: its steps of
// [batch norm + ReLU] then convolution, recorded forward and backward.
//
// What it keeps between its forward and backward passes is the output of every convolution but
// the last (the next step's batch-norm input), in tensors the caller lends (FunctionBuffers):
// reversible backprop lends every function the same ones and refills them by recomputing, stored
// backprop gives each function its own. Nothing else is kept: the batch-norm + ReLU outputs that
// feed the convolutions live in the two scratch tensors only while they are used (the backward
// pass rebuilds each from its input, one elementwise pass, but the last two after a
// recomputation), and the last convolution's output,
// the function's result, is left in scratch 1 for the caller to add in at once.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"
#include "revnet/kernels/batch_norm.hpp"
#include "revnet/kernels/conv2d.hpp"

#include <array>
#include <optional>
#include <vector>

namespace revnet::models {

struct BatchNormLayer {
    TensorView gamma, beta, dgamma, dbeta;
    TensorView stats, running;  // this step's batch statistics (kept for recomputation), running ones
};

struct ConvLayer {
    kernels::Conv2d conv;
    TensorView weight, grad;
};

struct Step {
    std::optional<BatchNormLayer> norm;
    ConvLayer conv;
};

// kept[i]: where conv i's output stays, for every step but the last (and the last too under an
// output norm); at least as large as it, or as its packed halves when the context loads halves.
struct FunctionBuffers {
    std::vector<const Tensor*> kept;
};

// Everything a recording needs besides the layer: where to record, the convolutions' shared
// workspace, two scratch tensors (each as large as any step's input or any function's output),
// batch-norm settings.
struct Context {
    Recording recording;
    const Tensor& convWorkspace;
    std::array<const Tensor*, 2> scratch;
    kernels::BatchNormOptions bn;
    std::optional<kernels::FixedPoint> fixed;  // a RevNet's fixed-point couplings
    // --precision fp16: kept tensors hold packed halves (kernels/half_storage.hpp), loaded into
    // this float32 tensor, as large as any of them, where the backward pass reads one.
    const Tensor* halfLoads = nullptr;
};

enum class Pass {
    Train,      // batch statistics computed (running ones updated) and used
    Recompute,  // the kept batch statistics of the training forward reused
    Inference,  // running statistics used
};

// What a backward pass reads of a kept tensor of shape s: the tensor itself, or, when c loads
// halves, its halves loaded into c.halfLoads (valid until the next load).
TensorView loadKept(Context& c, const Tensor* kept, const Shape& s);

// Records batch norm of x into y (y may be x): with this step's batch statistics (Train, which
// computes them and updates the running ones), the kept ones (Recompute) or the running ones.
void normalize(Context& c, const BatchNormLayer& norm, const TensorView& x, const TensorView& y, Pass pass,
               bool relu = true);

// Batch statistics a function's convolutions take as they store their outputs in training, besides
// those of its inner norms: whether the statistics of its input were taken already, by whatever
// wrote it, and the norm that reads its result next, whose statistics its last convolution takes
// where it can.
struct CarriedStatistics {
    bool ofInput = false;
    const BatchNormLayer* forResult = nullptr;
};

class ResidualFunction {
public:
    std::vector<Step> steps;
    std::optional<BatchNormLayer> outputNorm;  // post-activation: batch norm, no ReLU, on the result

    // Records the function on `input`; returns its output, a view of scratch 1 (c.scratch[0])
    // valid until the next use of the scratch tensors. Overwrites both scratch tensors.
    // `coupling`: the result is a reversible coupling's term, rounded to c.fixed's grid if set.
    // Train or Inference.
    // `inputStatistics`: the batch statistics of the input were taken as it was written (see
    // fusedInputNorm()).
    TensorView forward(Context& c, const TensorView& input, const FunctionBuffers& buffers, Pass pass,
                       bool coupling = false, bool inputStatistics = false) const;
    // Records what backward() needs of a function whose output is kept elsewhere (a reversible
    // network's unit that is not reversible): the forward with the kept statistics, up to the
    // last convolution's input.
    void recompute(Context& c, const TensorView& input, const FunctionBuffers& buffers) const;
    // A reversible coupling: records half += F(input), or with `inverse` half -= F(input), the
    // last convolution adding into half directly (the same float operations as forward() and an
    // elementwise add, without F(input) going through memory). Not for functions with an output
    // norm (post-activation), which no reversible unit has. In training, returns whether the last
    // convolution took the batch statistics of the sum for `statistics.forResult`.
    bool couple(Context& c, const TensorView& input, const TensorView& half, bool inverse, const FunctionBuffers& buffers,
                Pass pass, CarriedStatistics statistics = {}) const;
    // The norm whose batch statistics a caller may take as it writes this function's input, so that
    // the function need not read its input for them: the first step's, where its convolution applies
    // it as it loads the input. Null otherwise.
    const BatchNormLayer* fusedInputNorm() const;
    // Records the backward pass from the gradient of the output: parameter gradients, and the
    // input gradient written to (or with accumulate added to) dInput. Needs `input` and the kept
    // buffers as the training (or recomputing) forward left them; dOutput may not be a scratch
    // tensor, dInput may be dOutput. `afterRecompute`: this function's recompute() or couple(...,
    // Recompute) was the last thing recorded on the scratch tensors, so the last two steps'
    // batch-norm + ReLU outputs are still there and are used instead of rebuilt.
    void backward(Context& c, const TensorView& input, const TensorView& dOutput, const TensorView& dInput,
                  bool accumulate, const FunctionBuffers& buffers, bool afterRecompute = false) const;

private:
    struct Recorded {
        TensorView result;
        bool resultStatistics = false;  // the last convolution took statistics.forResult's
    };
    // forward() with the last convolution's result going to `last` as `output` says.
    Recorded record(Context& c, const TensorView& input, const FunctionBuffers& buffers, Pass pass,
                    const TensorView* last, kernels::ConvOutput output, bool coupling,
                    CarriedStatistics statistics = {}) const;
};

}  // namespace revnet::models
