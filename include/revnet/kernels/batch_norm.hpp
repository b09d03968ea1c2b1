// Batch normalization over NCHW views, per channel. Statistics are 2*C floats [mean, variance]:
// a training forward computes them from the batch (and may update the running statistics), a
// recomputation reuses the kept ones, inference passes the running ones instead.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"
#include "revnet/kernels/variant.hpp"

#include <functional>
#include <optional>
#include <span>

namespace revnet::kernels {

// Synchronized batch norm: `count` processes, each holding an equal share of the batch, normalize
// with the statistics of the whole batch (and so backpropagate through them). The kernels record
// where figures cross between the shares; recording the exchange itself is the caller's.
struct BatchNormShares {
    uint32_t count = 1;
    // Records: the dense view `values` of every share, concatenated in share order into `gathered`
    // (count times as long).
    std::function<void(Recorder&, const TensorView& values, const TensorView& gathered)> gather;
    // Records: each of `values` replaced by its mean over the shares.
    std::function<void(Recorder&, std::span<const TensorView> values)> average;
    TensorView gathered;  // workspace of batchNormSharesWorkspace floats
};
uint64_t batchNormSharesWorkspace(uint32_t channels, uint32_t count);

struct BatchNormOptions {
    float eps = 1e-5f;
    float momentum = 0.1f;  // running = (1 - momentum) * running + momentum * batch
    bool relu = false;      // fused ReLU after the normalization
    Variant variant = Variant::Auto;
    // Where the split reductions keep their partial results (batchNormPartials floats); without
    // it a channel's reduction is one workgroup's.
    std::optional<TensorView> partials;
    const BatchNormShares* shares = nullptr;  // synchronized over processes; null: this batch alone
};

// Each channel's reductions (statistics, parameter gradients) are split over parts of the batch,
// so that a layer of few channels still makes hundreds of workgroups (merged in part order:
// deterministic): the parts for `channels` channels of `samples` samples, and the floats of
// partial results they need (0 when one part does).
uint32_t batchNormParts(uint32_t channels, uint32_t samples);
uint64_t batchNormPartials(uint32_t channels, uint32_t samples);

// stats = [mean, biased variance] of x per channel (with options.shares, of the whole batch: x is
// this process's share); with updateRunning, running moves toward them.
void batchNormStatistics(const Recording& rec, const TensorView& x, const TensorView& stats,
                         const TensorView& running, bool updateRunning, const BatchNormOptions& options = {});
// batchNormStatistics from `parts` partial moments per channel, (count, mean, sum of squared
// deviations) at partials[3 * (part * channels + c)], as a convolution's epilogue writes them of
// its output (Conv2d's OutputStats). Without shares: a synchronized norm gathers its statistics.
void batchNormMergeMoments(const Recording& rec, const TensorView& partials, uint32_t parts, uint32_t channels,
                           const TensorView& stats, const TensorView& running, bool updateRunning,
                           const BatchNormOptions& options = {});
// y = gamma * (x - mean) / sqrt(var + eps) + beta (then ReLU if options.relu); y may be x.
void batchNormForward(const Recording& rec, const TensorView& x, const TensorView& stats,
                      const TensorView& gamma, const TensorView& beta, const TensorView& y,
                      const BatchNormOptions& options = {});
// Training-mode backward from the layer's input x and the statistics its forward used: writes
// dgamma and dbeta, and writes (or with accumulate, adds to) dx. dx may be dy. With
// options.shares, dgamma and dbeta are the mean of the shares' (dy is each share's own loss
// gradient), and dx is the share of the whole batch's.
void batchNormBackward(const Recording& rec, const TensorView& x, const TensorView& dy,
                       const TensorView& stats, const TensorView& gamma, const TensorView& beta,
                       const TensorView& dgamma, const TensorView& dbeta, const TensorView& dx, bool accumulate,
                       const BatchNormOptions& options = {});
// batchNormBackward where dgamma and dbeta already hold this share's sums, dbeta = sum dy' and
// dgamma = sum dy' * xhat (an input-gradient pass summed them as it wrote dy: Conv2d's NormSums):
// averages them over the shares, if any, then writes (or adds to) dx.
void batchNormBackwardFromSums(const Recording& rec, const TensorView& x, const TensorView& dy,
                               const TensorView& stats, const TensorView& gamma, const TensorView& beta,
                               const TensorView& dgamma, const TensorView& dbeta, const TensorView& dx, bool accumulate,
                               const BatchNormOptions& options = {});

}  // namespace revnet::kernels
