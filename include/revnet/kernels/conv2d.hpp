// 2-D convolution without bias, NCHW float32: forward, gradient of the input, gradient of the
// weights. Weights are w[K][C][R][S]. A Conv2d is the plan for one layer shape on one device:
// tile shapes, how many parts the weight-gradient reduction takes, and the workspace the passes
// need (the caller provides it, so that layers can share one).
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"
#include "revnet/kernels/fixed_point.hpp"
#include "revnet/kernels/variant.hpp"

#include <array>

namespace revnet::kernels {

struct Conv2dShape {
    Shape input;  // N, C, H, W
    uint32_t outChannels = 1;
    uint32_t kernelH = 3, kernelW = 3, stride = 1, pad = 1;

    Shape output() const;
    Shape weight() const { return {outChannels, input.c, kernelH, kernelW}; }
    double flops() const;  // of one pass: 2 * N * K * OH * OW * C * R * S
};

// What one invocation of conv2d_tile.glsl computes: 4*outVec4 channels x rows x cols.
struct TileShape {
    uint32_t outVec4, rows, cols;
};

struct Conv2dTiles {
    uint32_t workgroup;
    TileShape forward, gradInput;
    uint32_t gradK, gradC, gradCols;       // grad weight: gradK output x gradC input channels, gradCols columns a step
    uint32_t gradGroups;                   // the workgroups the weight-gradient parts aim for
};
// The CPU variant's, for a device whose subgroups of subgroupLanes share loads (0: none do).
Conv2dTiles conv2dTiles(const Conv2dShape& shape, uint32_t subgroupLanes);

// Where a pass's result goes: written, added to what the output holds, or subtracted from it (a
// reversible coupling y1 = x1 + F(x2) and its inverse, without the sum going through memory).
enum class ConvOutput { Write, Add, Subtract };

// A batch norm and ReLU that a forward or weight-gradient pass applies to its input as it loads
// it, the padding kept zero: the pass reads relu(gamma * (x - mean) / sqrt(var + eps) + beta)
// without that tensor ever being written (a pre-activation layer's batch-norm output pass saved).
struct InputNorm {
    TensorView stats, gamma, beta;  // [mean[C], var[C]], gamma[C], beta[C] for the input's C channels
    float eps = 1e-5f;
};

// The batch norm and ReLU whose output gradient dz an input-gradient pass writes, with that norm's
// input x: the pass can also sum the norm's parameter gradients as it stores dz (conv2d_tile.glsl's
// NORM_SUMS), dbeta = sum dz' and dgamma = sum dz' * xhat, dz' = dz where the ReLU passed, so that
// batch norm's backward need not read x and dz again for them.
struct NormSums {
    InputNorm norm;
    TensorView x;              // shaped as dx
    TensorView dgamma, dbeta;  // written
    TensorView partials;       // workspace of normSumsPartials() floats
};

// The batch statistics of what a forward pass stores, for the batch norm that reads its output
// next: the pass can take them as it stores (conv2d_tile.glsl's OUT_STATS) instead of that norm
// reading the output again for them.
struct OutputStats {
    TensorView stats, running;  // [mean, var] written; with updateRunning, running moves toward them
    bool updateRunning = true;
    float momentum = 0.1f;
    TensorView partials;  // workspace of outputStatsPartials() floats
};

class Conv2d {
public:
    Conv2d(const DeviceInfo& device, Conv2dShape shape, Variant variant = Variant::Auto);

    const Conv2dShape& shape() const { return shape_; }
    Variant variant() const { return variant_; }
    // Floats of workspace the passes need (packed weights, partial weight gradients).
    std::uint64_t workspaceElements() const;
    uint32_t gradWeightParts() const { return parts_; }

    // Whether forward() and gradWeight() take an InputNorm (the CPU variant's tiles; not the GPU variant's GEMM).
    bool normalizesInput() const { return variant_ == Variant::Cpu; }
    // With `fixed`, the result is rounded to its grid before it is written, added or subtracted
    // (a fixed-point coupling's term), and values past the grid's exact range set its flag. With
    // `norm` (where normalizesInput()), x goes through that batch norm and ReLU first. With
    // `stats`, where it can (the CPU variant's tiles, y written in one dispatch as vec4 rows), it
    // also takes the batch statistics of what it stores, and returns whether it did.
    bool forward(const Recording& rec, const TensorView& x, const TensorView& weight,
                 const TensorView& y, const TensorView& workspace, ConvOutput output = ConvOutput::Write,
                 const FixedPoint* fixed = nullptr, const InputNorm* norm = nullptr,
                 const OutputStats* stats = nullptr) const;
    // The partials OutputStats needs for this shape: 0 where forward() never takes them.
    std::uint64_t outputStatsPartials() const;
    // Writes dx, or with accumulate adds to it. With `sums`, where it can (the CPU variant's tiles,
    // dx written whole in one dispatch as vec4 rows), it also writes their dgamma and dbeta, and
    // returns whether it did.
    bool gradInput(const Recording& rec, const TensorView& dy, const TensorView& weight,
                   const TensorView& dx, const TensorView& workspace, bool accumulate = false,
                   const NormSums* sums = nullptr) const;
    // The partials NormSums needs for this shape: 0 where gradInput() never sums.
    std::uint64_t normSumsPartials() const;
    // Overwrites dweight. With `norm` (where normalizesInput()), x goes through that batch norm and
    // ReLU first, as in forward().
    void gradWeight(const Recording& rec, const TensorView& x, const TensorView& dy,
                    const TensorView& dweight, const TensorView& workspace, const InputNorm* norm = nullptr) const;

private:
    void pack(const Recording& rec, const TensorView& weight, const TensorView& workspace,
              bool transpose, uint32_t rowLength) const;
    void reduceParts(const Recording& rec, const TensorView& partials, const TensorView& dweight,
                     bool accumulate) const;
    void gradWeightChunk(const Recording& rec, const TensorView& x, const TensorView& dy,
                         const TensorView& dweight, const TensorView& workspace, bool accumulate,
                         const InputNorm* norm) const;
    enum class GemmPass { Forward, GradInput, GradWeight };
    // The GPU variant's passes (conv2d_gemm_*.comp): `in` is x (or dx), `out` y (or dy), `weights`
    // the weights (unused by the weight gradient), `target` where the result goes; (py, px) the
    // input gradient's parity class.
    void gemm(const Recording& rec, GemmPass pass, const TensorView& in, const TensorView& out,
              const TensorView& weights, const TensorView& target, ConvOutput output, const FixedPoint* fixed = nullptr,
              uint32_t py = 0, uint32_t px = 0) const;
    uint64_t tileGroups(const TileShape& tile, const Shape& out) const;
    uint32_t samplesPerGemm(const Pipelines& pipelines, const TensorView& in, const TensorView& out, std::string_view kernel) const;
    void tiled(const Recording& rec, ShaderName shader, const TileShape& tile, const TensorView& in,
               const TensorView& out, const TensorView& packed, uint32_t rowLength, uint32_t py, uint32_t px,
               ConvOutput output, const FixedPoint* fixed = nullptr, const InputNorm* norm = nullptr,
               const NormSums* sums = nullptr, const OutputStats* outStats = nullptr) const;

    Conv2dShape shape_;
    Variant variant_;
    uint32_t subgroupLanes_ = 0;  // the CPU variant's *_subgroup shaders: the subgroup size; 0 without them
    Conv2dTiles tiles_;
    uint32_t parts_ = 1, gradWorkgroup_ = 64, cLanes_ = 64, kTilesPerGroup_ = 1;
    std::array<uint32_t, 2> gradGrid_{1, 1};  // the weight gradient's workgroups: k-tile groups, input-channel groups
    uint32_t gemmColumns_ = 4;  // outputs along n per invocation (TN): 4 in 256 invocations, 8 in 128
};

}  // namespace revnet::kernels
