#include "revnet/models/residual_function.hpp"

#include "revnet/kernels/half_storage.hpp"

#include <optional>
#include <stdexcept>


namespace revnet::models {

namespace {

TensorView shaped(const Tensor* t, const Shape& s) { return t->view(s); }

// The batch norm + ReLU a convolution applies as it loads its input: the batch's statistics, or
// in inference the running ones.
kernels::InputNorm inputNorm(const Context& c, const BatchNormLayer& norm, Pass pass) {
    return {pass == Pass::Inference ? norm.running : norm.stats, norm.gamma, norm.beta, c.bn.eps};
}

}  // namespace

TensorView loadKept(Context& c, const Tensor* kept, const Shape& s) {
    if (!c.halfLoads) return shaped(kept, s);
    const TensorView loaded = shaped(c.halfLoads, s);
    kernels::loadHalf(c.recording, kernels::packedView(*kept, s), loaded);
    return loaded;
}

void normalize(Context& c, const BatchNormLayer& norm, const TensorView& x, const TensorView& y, Pass pass, bool relu) {
    kernels::BatchNormOptions options = c.bn;
    options.relu = relu;
    if (pass == Pass::Train)
        kernels::batchNormStatistics(c.recording, x, norm.stats, norm.running, true, options);
    kernels::batchNormForward(c.recording, x, pass == Pass::Inference ? norm.running : norm.stats,
                              norm.gamma, norm.beta, y, options);
}

TensorView ResidualFunction::forward(Context& c, const TensorView& input, const FunctionBuffers& buffers,
                                     Pass pass, bool coupling, bool inputStatistics) const {
    if (pass == Pass::Recompute) throw std::logic_error("a function's recomputation is recompute() or couple()");
    return record(c, input, buffers, pass, nullptr, kernels::ConvOutput::Write, coupling, {inputStatistics, nullptr}).result;
}

void ResidualFunction::recompute(Context& c, const TensorView& input, const FunctionBuffers& buffers) const {
    record(c, input, buffers, Pass::Recompute, nullptr, kernels::ConvOutput::Write, false);
}

bool ResidualFunction::couple(Context& c, const TensorView& input, const TensorView& half, bool inverse,
                              const FunctionBuffers& buffers, Pass pass, CarriedStatistics statistics) const {
    // Reversible units are pre-activation: their result is the last convolution's own.
    if (outputNorm) throw std::logic_error("a reversible coupling through a function with an output norm");
    const auto output = inverse ? kernels::ConvOutput::Subtract : kernels::ConvOutput::Add;
    return record(c, input, buffers, pass, &half, output, true, statistics).resultStatistics;
}

namespace {

// Whether the step's convolution can apply its batch norm as it loads its input.
bool normOnLoad(const Step& step) { return step.norm && step.conv.conv.normalizesInput(); }

}  // namespace

const BatchNormLayer* ResidualFunction::fusedInputNorm() const {
    return normOnLoad(steps.front()) ? &*steps.front().norm : nullptr;
}

ResidualFunction::Recorded ResidualFunction::record(Context& c, const TensorView& input, const FunctionBuffers& buffers,
                                                    Pass pass, const TensorView* last, kernels::ConvOutput lastOutput,
                                                    bool coupling, CarriedStatistics statistics) const {
    // Where the convolution can, it applies its batch norm and ReLU as it loads its input, in a
    // recomputation too (so that it rebuilds bit for bit what training computed), and the
    // batch-norm output is never written. Where it cannot, a recomputation leaves the last two
    // steps' batch-norm outputs where backward() works on them (step i's in scratch
    // (steps - i) % 2), so that it need not rebuild them; its result goes to `last` or nowhere,
    // never to scratch 1.
    const bool recompute = pass == Pass::Recompute;
    // Step i's output: halves make a kept output in scratch 0, store it from there, and read on from there.
    const auto outputOf = [&](std::size_t i) {
        const bool final = i + 1 == steps.size() && !outputNorm;
        const Tensor* out = final || c.halfLoads ? c.scratch[0] : buffers.kept[i];
        return final && last ? *last : shaped(out, steps[i].conv.conv.shape().output());
    };
    // Whether step i's convolution applies its batch norm as it loads `input`.
    const auto fusedAt = [&](std::size_t i, const TensorView& input) {
        return normOnLoad(steps[i]) && !overlaps(input.binding(), outputOf(i).binding());
    };
    // In training, a convolution takes the batch statistics for the next step's fused norm as it
    // stores its output, where it can; synchronized batch norm gathers them with batchNormStatistics.
    const bool takeStatistics = pass == Pass::Train && c.bn.partials && !(c.bn.shares && c.bn.shares->count > 1);
    bool statisticsTaken = statistics.ofInput;
    if (statistics.ofInput && !fusedAt(0, input)) throw std::logic_error("input statistics taken for a norm applied apart");
    TensorView current = input;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& step = steps[i];
        const bool final = i + 1 == steps.size() && !outputNorm;
        const bool halves = c.halfLoads && !final;
        const TensorView output = outputOf(i);
        const bool fused = fusedAt(i, current);
        if (step.norm && pass == Pass::Train && fused && !statisticsTaken)
            kernels::batchNormStatistics(c.recording, current, step.norm->stats, step.norm->running, true, c.bn);
        TensorView convInput = current;
        if (step.norm && !fused) {
            convInput = shaped(c.scratch[recompute ? (steps.size() - i) % 2 : 1], current.shape());
            normalize(c, *step.norm, current, convInput, pass);
        }
        if (final && recompute && !last) return {};  // backward() needs the last convolution's input only
        if (halves && overlaps(convInput.binding(), c.scratch[0]->view().binding()))
            throw std::logic_error("half storage: a step without batch norm after the first");
        const kernels::FixedPoint* fixed = final && coupling && c.fixed ? &*c.fixed : nullptr;
        std::optional<kernels::InputNorm> norm;
        if (fused) norm = inputNorm(c, *step.norm, pass);
        const BatchNormLayer* nextNorm = i + 1 < steps.size() ? (fusedAt(i + 1, output) ? &*steps[i + 1].norm : nullptr)
                                         : final ? statistics.forResult : nullptr;
        std::optional<kernels::OutputStats> nextStatistics;
        if (takeStatistics && nextNorm)
            nextStatistics = kernels::OutputStats{nextNorm->stats, nextNorm->running, true, c.bn.momentum, *c.bn.partials};
        statisticsTaken = step.conv.conv.forward(c.recording, fused ? current : convInput, step.conv.weight, output,
                                                 c.convWorkspace, final ? lastOutput : kernels::ConvOutput::Write, fixed,
                                                 norm ? &*norm : nullptr, nextStatistics ? &*nextStatistics : nullptr);
        if (halves) kernels::storeHalf(c.recording, output, kernels::packedView(*buffers.kept[i], output.shape()));
        current = output;
    }
    if (!outputNorm) return {current, statisticsTaken && statistics.forResult};
    const TensorView result = shaped(c.scratch[0], current.shape());
    normalize(c, *outputNorm, current, result, pass, false);
    return {result, false};
}

// Step k works in scratch[(last - k) % 2]: where its weight gradient cannot apply the batch norm
// as it loads its input, the batch-norm output is rebuilt there first; then the input gradient
// overwrites it, while the upstream gradient sits in the other (the output norm's gradient, if
// any, in scratch 2). Right after a recomputation the steps work one scratch tensor along, where
// it left the last two steps' batch-norm outputs if it wrote them.
void ResidualFunction::backward(Context& c, const TensorView& input, const TensorView& dOutput,
                                const TensorView& dInput, bool accumulate, const FunctionBuffers& buffers,
                                bool afterRecompute) const {
    const bool reuse = afterRecompute && steps.back().norm && !outputNorm;
    TensorView upstream = dOutput;
    if (outputNorm) {
        const BatchNormLayer& n = *outputNorm;
        kernels::BatchNormOptions linear = c.bn;
        linear.relu = false;
        const Shape& shape = steps.back().conv.conv.shape().output();
        upstream = shaped(c.scratch[1], shape);
        kernels::batchNormBackward(c.recording, loadKept(c, buffers.kept[steps.size() - 1], shape), dOutput,
                                   n.stats, n.gamma, n.beta, n.dgamma, n.dbeta, upstream, false, linear);
    }
    for (std::size_t k = steps.size(); k-- > 0;) {
        const Step& step = steps[k];
        const kernels::Conv2d& conv = step.conv.conv;
        const Shape& inShape = conv.shape().input;
        const TensorView stepInput = k == 0 ? input : loadKept(c, buffers.kept[k - 1], inShape);
        const TensorView work = shaped(c.scratch[(steps.size() - 1 - k + (reuse ? 1 : 0)) % 2], inShape);
        if (step.norm && conv.normalizesInput()) {
            const kernels::InputNorm norm = inputNorm(c, *step.norm, Pass::Recompute);
            conv.gradWeight(c.recording, stepInput, upstream, step.conv.grad, c.convWorkspace, &norm);
        } else {
            if (step.norm && !(reuse && k + 2 >= steps.size())) normalize(c, *step.norm, stepInput, work, Pass::Recompute);
            conv.gradWeight(c.recording, step.norm ? work : stepInput, upstream, step.conv.grad, c.convWorkspace);
        }
        if (k == 0 && !step.norm) {
            conv.gradInput(c.recording, upstream, step.conv.weight, dInput, c.convWorkspace, accumulate);
            return;
        }
        // The input gradient sums its batch norm's parameter gradients as it writes it, where it can.
        std::optional<kernels::NormSums> sums;
        if (step.norm && c.bn.relu && c.bn.partials)
            sums = kernels::NormSums{inputNorm(c, *step.norm, Pass::Recompute), stepInput, step.norm->dgamma,
                                     step.norm->dbeta, *c.bn.partials};
        const bool summed = conv.gradInput(c.recording, upstream, step.conv.weight, work, c.convWorkspace, false,
                                           sums ? &*sums : nullptr);
        if (step.norm) {
            const BatchNormLayer& n = *step.norm;
            const bool last = k == 0;
            const auto backward = summed ? kernels::batchNormBackwardFromSums : kernels::batchNormBackward;
            backward(c.recording, stepInput, work, n.stats, n.gamma, n.beta, n.dgamma, n.dbeta, last ? dInput : work,
                     last && accumulate, c.bn);
        }
        upstream = work;
    }
}

}  // namespace revnet::models
