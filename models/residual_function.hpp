// A residual function (F or G of a unit, or a ResNet unit's branch) on the device: its steps of
// [batch norm + ReLU] then convolution, recorded forward and backward. Where the intermediates live
// is the caller's choice (FunctionBuffers): reversible backprop lends every function the same
// buffers and refills them by recomputing, stored backprop gives each function its own.
#pragma once

#include "engine/command_recorder.hpp"
#include "engine/pipelines.hpp"
#include "engine/tensor.hpp"
#include "kernels/batch_norm.hpp"
#include "kernels/conv2d.hpp"

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

// For step i: the batch-norm output feeding conv i (null when the step has none) and conv i's
// output. Tensors at least as large as the shapes they hold.
struct FunctionBuffers {
    std::vector<const Tensor*> pre, out;
};

// Everything a recording needs besides the layer: where to record, the convolutions' shared
// workspace, two gradient scratch tensors, batch-norm settings.
struct Context {
    Pipelines& pipelines;
    Recorder& recorder;
    const Tensor& convWorkspace;
    std::array<const Tensor*, 2> gradScratch;
    kernels::BatchNormOptions bn;
};

enum class Pass {
    Train,      // batch statistics computed (running ones updated) and used
    Recompute,  // the kept batch statistics of the training forward reused
    Inference,  // running statistics used
};

class ResidualFunction {
public:
    std::vector<Step> steps;

    // Records the function on `input`; returns its output (a view of buffers.out.back()).
    TensorView forward(Context& c, const TensorView& input, const FunctionBuffers& buffers, Pass pass) const;
    // Records the backward pass from the gradient of the output: parameter gradients, and the
    // input gradient written to (or with accumulate added to) dInput. Needs the buffers as the
    // training (or recomputing) forward left them.
    void backward(Context& c, const TensorView& input, const TensorView& dOutput, const TensorView& dInput,
                  bool accumulate, const FunctionBuffers& buffers) const;
};

}  // namespace revnet::models
