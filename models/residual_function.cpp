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
            convInput = shaped(buffers.pre[i], current.shape());
            kernels::batchNormForward(c.pipelines, c.recorder, current, pass == Pass::Inference ? n.running : n.stats,
                                      n.gamma, n.beta, convInput, c.bn);
        }
        const TensorView output = shaped(buffers.out[i], step.conv.conv.shape().output());
        step.conv.conv.forward(c.pipelines, c.recorder, convInput, step.conv.weight, output, c.convWorkspace);
        current = output;
    }
    return current;
}

void ResidualFunction::backward(Context& c, const TensorView& input, const TensorView& dOutput,
                                const TensorView& dInput, bool accumulate, const FunctionBuffers& buffers) const {
    TensorView upstream = dOutput;
    for (std::size_t k = steps.size(); k-- > 0;) {
        const Step& step = steps[k];
        const kernels::Conv2d& conv = step.conv.conv;
        const Shape& inShape = conv.shape().input;
        const TensorView convInput = step.norm ? shaped(buffers.pre[k], inShape) : (k == 0 ? input : shaped(buffers.out[k - 1], inShape));
        conv.gradWeight(c.pipelines, c.recorder, convInput, upstream, step.conv.grad, c.convWorkspace);
        if (k == 0 && !step.norm) {
            conv.gradInput(c.pipelines, c.recorder, upstream, step.conv.weight, dInput, c.convWorkspace, accumulate);
            return;
        }
        // Ping-pong between the two scratch tensors: this step's input gradient must not overwrite
        // the upstream gradient it is computed from.
        const TensorView dPre = shaped(c.gradScratch[(steps.size() - 1 - k) % 2], inShape);
        conv.gradInput(c.pipelines, c.recorder, upstream, step.conv.weight, dPre, c.convWorkspace);
        if (!step.norm) {
            upstream = dPre;
            continue;
        }
        const BatchNormLayer& n = *step.norm;
        const TensorView bnInput = k == 0 ? input : shaped(buffers.out[k - 1], inShape);
        const bool last = k == 0;
        kernels::batchNormBackward(c.pipelines, c.recorder, bnInput, dPre, n.stats, n.gamma, n.beta, n.dgamma, n.dbeta,
                                   last ? dInput : dPre, last && accumulate, c.bn);
        upstream = dPre;
    }
}

}  // namespace revnet::models
