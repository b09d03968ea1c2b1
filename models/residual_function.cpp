#include "models/residual_function.hpp"

namespace revnet::models {

namespace {

TensorView shaped(const Tensor* t, const Shape& s) { return t->view(s); }

}  // namespace

TensorView ResidualFunction::forward(Context& c, const TensorView& input, const FunctionBuffers& buffers,
                                     Pass pass) const {
    TensorView current = input;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& step = steps[i];
        TensorView convInput = current;
        if (step.norm) {
            const BatchNormLayer& n = *step.norm;
            if (pass == Pass::Train)
                kernels::batchNormStatistics(c.pipelines, c.recorder, current, n.stats, n.running, true, c.bn);
            convInput = shaped(c.scratch[1], current.shape());
            kernels::batchNormForward(c.pipelines, c.recorder, current, pass == Pass::Inference ? n.running : n.stats,
                                      n.gamma, n.beta, convInput, c.bn);
        }
        const Tensor* out = i + 1 < steps.size() ? buffers.kept[i] : c.scratch[0];
        const TensorView output = shaped(out, step.conv.conv.shape().output());
        step.conv.conv.forward(c.pipelines, c.recorder, convInput, step.conv.weight, output, c.convWorkspace);
        current = output;
    }
    return current;
}

// Step k works in scratch[(last - k) % 2]: the batch-norm output is rebuilt there for the weight
// gradient, then overwritten by the input gradient, while the upstream gradient sits in the other.
void ResidualFunction::backward(Context& c, const TensorView& input, const TensorView& dOutput,
                                const TensorView& dInput, bool accumulate, const FunctionBuffers& buffers) const {
    TensorView upstream = dOutput;
    for (std::size_t k = steps.size(); k-- > 0;) {
        const Step& step = steps[k];
        const kernels::Conv2d& conv = step.conv.conv;
        const Shape& inShape = conv.shape().input;
        const TensorView stepInput = k == 0 ? input : shaped(buffers.kept[k - 1], inShape);
        const TensorView work = shaped(c.scratch[(steps.size() - 1 - k) % 2], inShape);
        if (step.norm) {
            const BatchNormLayer& n = *step.norm;
            kernels::batchNormForward(c.pipelines, c.recorder, stepInput, n.stats, n.gamma, n.beta, work, c.bn);
        }
        conv.gradWeight(c.pipelines, c.recorder, step.norm ? work : stepInput, upstream, step.conv.grad, c.convWorkspace);
        if (k == 0 && !step.norm) {
            conv.gradInput(c.pipelines, c.recorder, upstream, step.conv.weight, dInput, c.convWorkspace, accumulate);
            return;
        }
        conv.gradInput(c.pipelines, c.recorder, upstream, step.conv.weight, work, c.convWorkspace);
        if (step.norm) {
            const BatchNormLayer& n = *step.norm;
            const bool last = k == 0;
            kernels::batchNormBackward(c.pipelines, c.recorder, stepInput, work, n.stats, n.gamma, n.beta, n.dgamma,
                                       n.dbeta, last ? dInput : work, last && accumulate, c.bn);
        }
        upstream = work;
    }
}

}  // namespace revnet::models
