#include "revnet/kernels/conv2d.hpp"

#include "kernels/dispatch.hpp"
#include "kernels/reduce_parts.hpp"
#include "revnet/kernels/batch_norm.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace revnet::kernels {

namespace {

// input_norm.glsl's push constants: where an InputNorm's statistics, gamma and beta start, and eps.
struct NormPush {
    uint32_t stats = 0, gamma = 0, beta = 0;
    float eps = 0.0f;
};

NormPush normPush(const InputNorm* norm, uint32_t channels, std::string_view kernel) {
    if (!norm) return {};
    return {denseOffset(norm->stats, 2 * uint64_t{channels}, kernel, "statistics"), denseOffset(norm->gamma, channels, kernel, "gamma"),
            denseOffset(norm->beta, channels, kernel, "beta"), norm->eps};
}

uint32_t fixedBits(const FixedPoint& fixed) {
    if (fixed.bits == 0 || fixed.bits > 23)
        throw std::invalid_argument("conv2d: a fixed-point grid needs 1 to 23 fraction bits, not " + std::to_string(fixed.bits));
    return fixed.bits;
}

uint32_t roundUp(uint32_t a, uint32_t b) { return ceilDiv(a, b) * b; }

void requireDense(const TensorView& v, const Shape& shape, const char* what) {
    if (v.shape() != shape)
        throw std::invalid_argument(std::string("conv2d: ") + what + " is " + toString(v.shape()) + ", expected " +
                                    toString(shape));
    if (!v.samplesContiguous()) throw std::invalid_argument(std::string("conv2d: ") + what + " must keep samples contiguous");
}

// Whether every row of the view (its width, offset and per-sample stride) is whole vec4s: the
// shaders' vec4 loads and stores need it.
bool rowsOfVec4(const TensorView& v) { return v.shape().w % 4 == 0 && v.offset() % 4 == 0 && v.strides()[0] % 4 == 0; }

// The shader itself; where a binding is past the texel limit (fitsTexels), its twin that loads
// from storage buffers; else, with `subgroup`, its twin that shares loads across a subgroup.
ShaderName withLoads(ShaderName shader, bool texels, bool subgroup) {
    const std::string_view name = shader.view();
    if (texels && !subgroup) return shader;
    if (name == "conv2d_forward") return texels ? ShaderName("conv2d_forward_subgroup") : ShaderName("conv2d_forward_storage");
    if (name == "conv2d_grad_input")
        return texels ? ShaderName("conv2d_grad_input_subgroup") : ShaderName("conv2d_grad_input_storage");
    if (name == "conv2d_grad_weight")
        return texels ? ShaderName("conv2d_grad_weight_subgroup") : ShaderName("conv2d_grad_weight_storage");
    throw std::logic_error("conv2d: " + std::string(name) + " has no twin");
}

}  // namespace

Shape Conv2dShape::output() const {
    const int oh = (int(input.h) + 2 * int(pad) - int(kernelH)) / int(stride) + 1;
    const int ow = (int(input.w) + 2 * int(pad) - int(kernelW)) / int(stride) + 1;
    if (oh <= 0 || ow <= 0) throw std::invalid_argument("conv2d: kernel larger than the padded input");
    return {input.n, outChannels, uint32_t(oh), uint32_t(ow)};
}

double Conv2dShape::flops() const {
    const Shape o = output();
    return 2.0 * o.elements() * input.c * kernelH * kernelW;
}

// CPU devices: as many outputs per invocation as registers allow (8 channels x 4 x 4 measured
// best on lavapipe for most layers), few invocations. GPUs use conv2d_gemm_*.comp instead.
// The CPU variant's workgroup: every tile shape below runs 64 invocations a group.
constexpr uint32_t kTileWorkgroup = 64;
// An input gradient summing its batch norm's gradients (NORM_SUMS), or a forward pass taking its
// output's statistics (OUT_STATS), keeps a row of 2 * 4 * TO4 figures a lane in conv2d_tile.glsl's
// shared arrays, whose sizes are fixed: 64 lanes, TO4 at most 4.
constexpr uint32_t kMaxSummedVec4 = 4;
static_assert(kTileWorkgroup == 64, "conv2d_tile.glsl's laneSums holds a row for each of 64 lanes");
// A 1x1 weight gradient's lanes share dy only with this many input channels each or more.
constexpr uint32_t kMinSharedInputChannels = 4;

Conv2dTiles conv2dTiles(const Conv2dShape& shape, uint32_t subgroupLanes) {
    // Measured on lavapipe with `revnet bench kernels` (2026-11-24): few input channels (the
    // stem) want wide output tiles, strided and 1x1 layers fewer rows and more channels. A 1x1
    // weight gradient sums 8 input channels an invocation (2026-12-03: 12% -> 40% of the peak;
    // more than one helps no 3x3 layer). A strided forward tile has four rows: with its input's
    // batch norm applied as it loads (as a pre-activation step runs it), two rows took 1.09-1.18x
    // the time of four, and 1.03-1.17x without it (2026-12-04, three rounds; two had won by
    // 1.2-1.3x without the norm on 12-03). A strided input gradient computes every parity class
    // in one tile ({2,4,8}: 1.15-1.25x the classes' {4,4,4} one class a dispatch; 2026-12-03,
    // fifth session), and a strided weight gradient aims at 16 workgroups, not 32 (1.04-1.08x,
    // three pairs). A 1x1 forward tile has four rows of eight (1x1 forward passes of RevNet-164,
    // plain, with the norm and with the statistics: 0.91-0.94x the time of two rows; a grad-input tile
    // of four rows, or of 16 columns, measured no better; 2026-12-05, third session).
    if (shape.input.c <= 4) return {kTileWorkgroup, {8, 4, 4}, {8, 4, 4}, 16, 1, 2, 32};
    if (shape.stride > 1) return {kTileWorkgroup, {4, 4, 4}, {2, 4, 8}, 16, 1, 1, 16};
    if (shape.kernelH == 1 && shape.kernelW == 1) {
        Conv2dTiles tiles{kTileWorkgroup, {4, 4, 8}, {4, 2, 8}, 16, 8, 4, 32};
        // Too few input channels to fill a subgroup with blocks of 8 (RevNet-164's 32 -> 128): a
        // subgroup's lanes take 4 or more each and share their dy loads, with 32 output channels
        // a lane for the same sums per load (2026-12-05, fourth session: 0.71-0.90x the time in five
        // rounds, 0.77-0.90x with the input's norm; 16 -> 64 at 2 a lane did not gain).
        const uint32_t perLane = subgroupLanes ? shape.input.c / subgroupLanes : 0;
        if (perLane >= kMinSharedInputChannels && perLane < tiles.gradC && shape.input.c % subgroupLanes == 0)
            tiles.gradC = perLane, tiles.gradK = 32;
        return tiles;
    }
    return {kTileWorkgroup, {2, 4, 4}, {2, 4, 4}, 16, 1, 2, 32};
}

namespace {

// Loads that lanes of a subgroup share (weights, dy, the edges of neighbouring tiles) are made once
// and handed round where the device can shuffle (conv2d_tile.glsl, SUBGROUP_LOADS): 1.1-1.5x on
// lavapipe's subgroups of 8 (docs/PERFORMANCE.md). With 4 lanes the shuffles cost more than the
// loads they save: 0.78x on lavapipe at 4 lanes, 0.8x on SwiftShader. The subgroup size must divide
// the tiles' workgroup.
constexpr uint32_t kMinSharedLoadLanes = 8;

uint32_t sharedLoadLanes(const DeviceInfo& device, Variant variant) {
    constexpr VkSubgroupFeatureFlags shuffles = VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT;
    const bool usable = variant == Variant::Cpu && (device.subgroupOperations & shuffles) == shuffles &&
                        device.subgroupSize >= kMinSharedLoadLanes && kTileWorkgroup % device.subgroupSize == 0;
    return usable ? device.subgroupSize : 0;
}

// Weight gradients whose output rows are this many steps of columns or fewer unroll the row: on
// lavapipe 1.2-1.5x on 8-wide rows (2 steps), slower on 16-wide ones (4; docs/PERFORMANCE.md).
constexpr uint32_t kMaxUnrolledSteps = 2;

// Whether a weight gradient sums two steps of columns an iteration (conv2d_grad_weight.glsl,
// STEP_PAIRS): on lavapipe 1.1-1.3x for 1x1 expansions (more outputs than inputs), 0.95x or
// worse for 1x1 reductions and every 3x3 layer (docs/PERFORMANCE.md).
bool pairsSteps(const Conv2dShape& shape, uint32_t outWidth, uint32_t stepColumns) {
    const bool expansion = shape.kernelH * shape.kernelW == 1 && shape.outChannels > shape.input.c;
    return expansion && outWidth % (2 * stepColumns) == 0;
}

// Whether a strided input gradient's tile covers every parity class (conv2d_tile.glsl, PARITIES):
// its rows and columns whole multiples of the stride.
bool allParities(const Conv2dShape& shape, const TileShape& tile) {
    return shape.stride > 1 && tile.rows % shape.stride == 0 && tile.cols % shape.stride == 0;
}

// conv2d_gemm.glsl's square block of outputs (64 x 64; BM x BN = 4096 in every shape), and the
// workgroups the GPU variant's weight-gradient parts aim for.
constexpr uint32_t kGemmBlock = 64, kGemmGroups = 512;
// The fewest output positions a weight-gradient part sums (fewer would spend the pass on partials).
constexpr uint64_t kGemmMinPartPositions = 256;

// conv2d_gemm.glsl's block rows (BM; BM x BN = 4096) for an m x n product: the one that pads the
// product least (64 on ties), among those whose columns the workgroup's invocations cover.
uint32_t gemmRows(uint64_t m, uint64_t n, uint32_t threads) {
    uint32_t best = 64;
    uint64_t bestWork = UINT64_MAX;
    for (uint32_t rows : {64u, 32u, 16u}) {
        const uint64_t columns = kGemmBlock * kGemmBlock / rows;
        if (columns > threads) continue;
        const uint64_t work = uint64_t{ceilDiv(m, rows)} * rows * ceilDiv(n, columns) * columns;
        if (work < bestWork) best = rows, bestWork = work;
    }
    return best;
}

}  // namespace

Conv2d::Conv2d(const DeviceInfo& device, Conv2dShape shape, Variant variant)
    : shape_(shape), variant_(resolve(variant, device)), subgroupLanes_(sharedLoadLanes(device, variant_)),
      tiles_(conv2dTiles(shape, subgroupLanes_)) {
    if (shape.stride == 0 || shape.kernelH == 0 || shape.kernelW == 0 || shape.input.elements() == 0 || shape.outChannels == 0)
        throw std::invalid_argument("conv2d: empty shape");
    if (shape.pad >= std::min(shape.kernelH, shape.kernelW))
        throw std::invalid_argument("conv2d: padding must be smaller than the kernel");
    const Shape out = shape.output();
    // As many weight-gradient parts as fill the device, as long as their partial sums fit one
    // storage binding.
    const uint64_t partsInRange = device.limits.maxStorageBufferRange / (shape.weight().elements() * sizeof(float));
    if (variant_ == Variant::Gpu) {
        const auto& l = device.limits;
        gemmColumns_ = l.maxComputeWorkGroupInvocations >= 256 && l.maxComputeWorkGroupSize[0] >= 256 ? 4 : 8;
        const uint32_t blocks = ceilDiv(out.c, kGemmBlock) * ceilDiv(uint64_t{shape.input.c} * shape.kernelH * shape.kernelW, kGemmBlock);
        // conv2d_gemm_grad_weight.comp splits the output rows between the parts.
        const uint64_t rows = uint64_t{out.n} * out.h, positions = rows * out.w;
        parts_ = std::clamp<uint64_t>(ceilDiv(kGemmGroups, blocks), 1,
                                      std::max<uint64_t>(1, std::min({positions / kGemmMinPartPositions, rows, partsInRange})));
        return;
    }
    // Lanes over input channels; few of them (the stem) leave room for several k tiles a group.
    const uint32_t cBlocks = ceilDiv(shape.input.c, tiles_.gradC);
    cLanes_ = std::min(tiles_.workgroup, cBlocks);
    kTilesPerGroup_ = std::min(ceilDiv(out.c, tiles_.gradK), std::max(1u, tiles_.workgroup / cLanes_));
    gradWorkgroup_ = cLanes_ * kTilesPerGroup_;
    gradGrid_ = {ceilDiv(ceilDiv(out.c, tiles_.gradK), kTilesPerGroup_), ceilDiv(cBlocks, cLanes_)};
    parts_ = std::clamp<uint32_t>(ceilDiv(tiles_.gradGroups, gradGrid_[0] * gradGrid_[1]), 1,
                                  std::max<uint64_t>(1, std::min<uint64_t>(out.n * out.h, partsInRange)));
}

std::uint64_t Conv2d::workspaceElements() const {
    const auto& s = shape_;
    const uint64_t partial = parts_ > 1 ? uint64_t{parts_} * s.weight().elements() : 0;
    if (variant_ == Variant::Gpu) return std::max<uint64_t>(partial, 1);  // reads the weights as they are
    const uint64_t taps = s.kernelH * s.kernelW;
    const uint64_t packed = std::max(s.input.c * taps * roundUp(s.outChannels, 4 * tiles_.forward.outVec4),
                                     s.outChannels * taps * roundUp(s.input.c, 4 * tiles_.gradInput.outVec4));
    return std::max(packed, partial);
}

void Conv2d::pack(const Recording& rec, const TensorView& weight, const TensorView& workspace,
                  bool transpose, uint32_t rowLength) const {
    requireDense(weight, shape_.weight(), "weight");
    struct Push {
        uint32_t K, C, rowLength4, wOffset, packedOffset4;
    } push{shape_.outChannels, shape_.input.c, rowLength / 4, uint32_t(weight.offset()), uint32_t(workspace.offset() / 4)};
    const uint32_t taps = shape_.kernelH * shape_.kernelW;
    const uint64_t total = uint64_t{transpose ? push.K : push.C} * taps * rowLength;
    const Kernel& kernel = rec.pipelines.get(
        "conv2d_pack_weights", {{"WORKGROUP_X", 64}, {"TRANSPOSE", transpose ? 1u : 0u}, {"TAPS", taps}});
    const uint32_t groups = std::min<uint32_t>(ceilDiv(total / 4, 64), rec.device().info().limits.maxComputeWorkGroupCount[0]);
    rec.recorder.dispatch(kernel, {weight, workspace.prefix(total)}, push, {groups, 1, 1});
}

void Conv2d::tiled(const Recording& rec, ShaderName shader, const TileShape& tile,
                   const TensorView& in, const TensorView& out, const TensorView& packed, uint32_t rowLength,
                   uint32_t py, uint32_t px, ConvOutput output, const FixedPoint* fixed, const InputNorm* norm,
                   const NormSums* sums, const OutputStats* outStats) const {
    const auto& s = shape_;
    const bool gradInput = shader.view() == "conv2d_grad_input";
    const bool parities = gradInput && allParities(s, tile);
    const uint32_t step = gradInput && !parities ? s.stride : 1;
    const uint32_t rows = ceilDiv(out.shape().h - py, step), cols = ceilDiv(out.shape().w - px, step);
    const uint32_t tiles = ceilDiv(rows, tile.rows) * ceilDiv(cols, tile.cols) * in.shape().n;
    // The input's rows as vec4s: a tile row's middle columns (conv2d_tile.glsl's MIDDLE), `stride` an
    // output in a forward pass, one an output of a parity class, 1/stride where a tile holds them all.
    const uint32_t middle = parities ? tile.cols / s.stride : gradInput ? tile.cols : tile.cols * s.stride;
    const bool inVec4 = middle % 4 == 0 && (gradInput || s.pad + s.stride <= s.kernelW) && rowsOfVec4(in);
    const bool outVec4 = (!gradInput || s.stride == 1 || parities) && tile.cols % 4 == 0 && rowsOfVec4(out);
    if (packed.offset() % 4) throw std::invalid_argument("conv2d: workspace must start on a 16-byte boundary");
    Specialization spec{{"WORKGROUP_X", tiles_.workgroup}, {"R", s.kernelH}, {"S", s.kernelW}, {"STRIDE", s.stride},
                        {"TO4", tile.outVec4}, {"TH", tile.rows}, {"TW", tile.cols}, {"PY", py}, {"PX", px},
                        {"PAD", s.pad}, {"IN_VEC4", inVec4 ? 1u : 0u}, {"ACCUMULATE", output != ConvOutput::Write ? 1u : 0u},
                        {"SUBTRACT", output == ConvOutput::Subtract ? 1u : 0u}, {"OUT_VEC4", outVec4 ? 1u : 0u}};
    if (fixed) spec["FIXED_BITS"] = fixedBits(*fixed);
    if (parities) spec["PARITIES"] = 1;
    if (norm) spec["INPUT_NORM"] = 1;
    if (sums) spec["NORM_SUMS"] = 1;
    if (outStats) spec["OUT_STATS"] = 1;
    // Only where it measured faster (conv2d_tile.glsl): the fixed-point passes.
    const bool wholeTiles = rows % tile.rows == 0 && cols % tile.cols == 0 && out.shape().c % (4 * tile.outVec4) == 0;
    if (fixed && wholeTiles) spec["WHOLE_TILES"] = 1;
    const bool texels = fitsTexels(rec.device(), in, 1) && fitsTexels(rec.device(), packed, 4) &&
                        (!sums || fitsTexels(rec.device(), sums->x, 4));
    // A forward pass adding to its output reads it as texels where they reach (conv2d_tile.glsl).
    const bool beforeTexels = !gradInput && texels && outVec4 && output != ConvOutput::Write && fitsTexels(rec.device(), out, 4);
    if (beforeTexels) spec["BEFORE_TEXELS"] = 1;
    if (subgroupLanes_ && texels) {
        spec["LANES"] = subgroupLanes_;
        // A subgroup holds whole rows of tiles, and they cover the input's width (conv2d_tile.glsl).
        const uint32_t tilesX = ceilDiv(cols, tile.cols);
        if (inVec4 && subgroupLanes_ % tilesX == 0 && tilesX * middle >= in.shape().w) spec["NEIGHBOURS"] = 1;
    }
    struct Push {
        uint32_t samples;
        uint32_t inChannels, inH, inW, inOffset, inSampleStride;
        uint32_t outChannels, outH, outW, outOffset, outSampleStride;
        uint32_t wOffset4, wRow4;
        uint32_t overflowAt;
        NormPush norm;
        struct {
            uint32_t normInputOffset, normInputSampleStride, partialsOffset;
        } sums;
    } push{in.shape().n, in.shape().c, in.shape().h, in.shape().w, uint32_t(in.offset()), uint32_t(in.strides()[0]),
           out.shape().c, out.shape().h, out.shape().w, uint32_t(out.offset()), uint32_t(out.strides()[0]),
           uint32_t(packed.offset() / 4), rowLength / 4, fixed ? uint32_t(fixed->overflow.offset()) : 0u,
           sums ? normPush(&sums->norm, out.shape().c, shader.view()) : normPush(norm, in.shape().c, shader.view()),
           {sums ? uint32_t(sums->x.offset()) : 0u, sums ? uint32_t(sums->x.strides()[0]) : 0u,
            sums ? uint32_t(sums->partials.offset()) : outStats ? uint32_t(outStats->partials.offset()) : 0u}};
    const std::array<uint32_t, 3> groups{ceilDiv(tiles, tiles_.workgroup), ceilDiv(out.shape().c, 4 * tile.outVec4), 1};
    const Kernel& kernel = rec.pipelines.get(withLoads(shader, texels, subgroupLanes_ > 0), spec);
    // Bindings 5-7 (a norm's figures) are texels in every twin. The forward shaders bind the
    // overflow flag, the input norm and (texel twins) the output as texels too; without a
    // fixed-point coupling, a norm or BEFORE_TEXELS they never touch them. The input gradient
    // binds the norm its sums are of, its input and their partials, untouched without NORM_SUMS.
    const TensorView noNorm = texelBinding(false, in);
    if (gradInput) {
        const InputNorm* n = sums ? &sums->norm : nullptr;
        const std::array<TensorView, 9> views{in, packed, out, in, n ? n->stats : noNorm, n ? n->gamma : noNorm,
                                              n ? n->beta : noNorm, sums ? sums->x : in, sums ? sums->partials : out};
        rec.recorder.dispatch(kernel, views, push, groups);
    } else {
        // Binding 9 takes OUT_STATS's partials; the storage twin has no binding 8, so it moves up.
        const TensorView statsPartials = outStats ? outStats->partials : out;
        const std::array<TensorView, 10> views{in, packed, out, in, fixed ? fixed->overflow : out, norm ? norm->stats : noNorm,
                                               norm ? norm->gamma : noNorm, norm ? norm->beta : noNorm,
                                               texels ? (beforeTexels ? out : in) : statsPartials, statsPartials};
        rec.recorder.dispatch(kernel, std::span(views).first(texels ? 10 : 9), push, groups);
    }
    // This dispatch's share of the pass: all of it, or one parity class of an input gradient.
    const double pass = 2.0 * double(gradInput ? in.shape().elements() * out.shape().c : out.shape().elements() * in.shape().c) *
                        s.kernelH * s.kernelW;
    rec.recorder.countFlops(pass * rows * cols / (double(out.shape().h) * out.shape().w));
}

// The workgroups along x of a one-dispatch tile pass over `out` (tiled()'s groups[0]): each writes
// a part of the epilogues' reductions.
uint64_t Conv2d::tileGroups(const TileShape& tile, const Shape& out) const {
    const uint64_t tiles = uint64_t{ceilDiv(out.h, tile.rows)} * ceilDiv(out.w, tile.cols) * out.n;
    return ceilDiv(tiles, uint64_t{tiles_.workgroup});
}

std::uint64_t Conv2d::outputStatsPartials() const {
    const TileShape& tile = tiles_.forward;
    if (variant_ != Variant::Cpu || tile.outVec4 > kMaxSummedVec4 || tile.cols % 4) return 0;
    return 3 * uint64_t{shape_.outChannels} * tileGroups(tile, shape_.output());
}

bool Conv2d::forward(const Recording& rec, const TensorView& x, const TensorView& weight,
                     const TensorView& y, const TensorView& workspace, ConvOutput output, const FixedPoint* fixed,
                     const InputNorm* norm, const OutputStats* stats) const {
    requireDense(x, shape_.input, "input");
    requireDense(y, shape_.output(), "output");
    if (norm && !normalizesInput()) throw std::invalid_argument("conv2d: the GPU variant does not normalize its input");
    const uint64_t partials = outputStatsPartials();
    const bool taking = stats && partials > 0 && stats->partials.shape().elements() >= partials && rowsOfVec4(y) &&
                        samplesPerDispatch(rec.device(), {x, y}, "conv2d_forward") >= y.shape().n;
    if (variant_ == Variant::Gpu) {
        forBatchChunks(x.shape().n, samplesPerGemm(rec.pipelines, x, y, "conv2d_forward"), [&](uint32_t first, uint32_t count) {
            gemm(rec, GemmPass::Forward, x.batch(first, count), y.batch(first, count), weight,
                 y.batch(first, count), output, fixed);
        });
        return false;
    }
    const uint32_t rowLength = roundUp(shape_.outChannels, 4 * tiles_.forward.outVec4);
    const TensorView packed = workspace.prefix(uint64_t{shape_.input.c} * shape_.kernelH * shape_.kernelW * rowLength);
    pack(rec, weight, packed, false, rowLength);
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, y}, "conv2d_forward"),
                   [&](uint32_t first, uint32_t count) {
                       tiled(rec, "conv2d_forward", tiles_.forward, x.batch(first, count),
                             y.batch(first, count), packed, rowLength, 0, 0, output, fixed, norm, nullptr,
                             taking ? stats : nullptr);
                   });
    if (!taking) return false;
    const uint32_t k = shape_.outChannels, parts = uint32_t(partials / (3 * uint64_t{k}));
    BatchNormOptions options;
    options.momentum = stats->momentum;
    batchNormMergeMoments(rec, stats->partials.prefix(partials), parts, k, stats->stats, stats->running,
                          stats->updateRunning, options);
    return true;
}

std::uint64_t Conv2d::normSumsPartials() const {
    const TileShape& tile = tiles_.gradInput;
    const bool oneDispatch = shape_.stride == 1 || allParities(shape_, tile);
    if (variant_ != Variant::Cpu || tile.outVec4 > kMaxSummedVec4 || tile.cols % 4 || !oneDispatch) return 0;
    return 2 * uint64_t{shape_.input.c} * tileGroups(tile, shape_.input);
}

bool Conv2d::gradInput(const Recording& rec, const TensorView& dy, const TensorView& weight,
                       const TensorView& dx, const TensorView& workspace, bool accumulate, const NormSums* sums) const {
    requireDense(dy, shape_.output(), "output gradient");
    requireDense(dx, shape_.input, "input gradient");
    if (sums) requireDense(sums->x, shape_.input, "batch-norm input");
    const uint64_t partials = normSumsPartials();
    const bool summing = sums && !accumulate && partials > 0 && sums->partials.shape().elements() >= partials &&
                         rowsOfVec4(dx) && rowsOfVec4(sums->x) && !overlaps(sums->x.binding(), dx.binding()) &&
                         samplesPerDispatch(rec.device(), {dy, dx, sums->x}, "conv2d_grad_input") >= dx.shape().n;
    if (variant_ == Variant::Gpu) {
        forBatchChunks(dy.shape().n, samplesPerGemm(rec.pipelines, dx, dy, "conv2d_grad_input"), [&](uint32_t first, uint32_t count) {
            for (uint32_t py = 0; py < std::min(shape_.stride, shape_.input.h); ++py)
                for (uint32_t px = 0; px < std::min(shape_.stride, shape_.input.w); ++px)
                    gemm(rec, GemmPass::GradInput, dx.batch(first, count), dy.batch(first, count), weight,
                         dx.batch(first, count), accumulate ? ConvOutput::Add : ConvOutput::Write, nullptr, py, px);
        });
        return false;
    }
    const uint32_t rowLength = roundUp(shape_.input.c, 4 * tiles_.gradInput.outVec4);
    const TensorView packed = workspace.prefix(uint64_t{shape_.outChannels} * shape_.kernelH * shape_.kernelW * rowLength);
    pack(rec, weight, packed, true, rowLength);
    forBatchChunks(dy.shape().n, samplesPerDispatch(rec.device(), {dy, dx}, "conv2d_grad_input"),
                   [&](uint32_t first, uint32_t count) {
                       // One dispatch for all parity classes where the tile holds whole ones.
                       const uint32_t classes = allParities(shape_, tiles_.gradInput) ? 1 : shape_.stride;
                       for (uint32_t py = 0; py < classes; ++py)
                           for (uint32_t px = 0; px < classes; ++px)
                               if (py < shape_.input.h && px < shape_.input.w)
                                   tiled(rec, "conv2d_grad_input", tiles_.gradInput, dy.batch(first, count),
                                         dx.batch(first, count), packed, rowLength, py, px,
                                         accumulate ? ConvOutput::Add : ConvOutput::Write, nullptr, nullptr,
                                         summing ? sums : nullptr);
                   });
    if (!summing) return false;
    // The workgroups' sums in order: dbeta's block, then dgamma's.
    const uint32_t c = shape_.input.c, parts = uint32_t(partials / (2 * uint64_t{c}));
    const uint32_t at = uint32_t(sums->partials.offset());
    sumParts(rec, sums->partials, at, c, parts, sums->dbeta, denseOffset(sums->dbeta, c, "conv2d_grad_input", "dbeta"), false);
    sumParts(rec, sums->partials, at + parts * c, c, parts, sums->dgamma,
             denseOffset(sums->dgamma, c, "conv2d_grad_input", "dgamma"), false);
    return true;
}

void Conv2d::gradWeight(const Recording& rec, const TensorView& x, const TensorView& dy,
                        const TensorView& dweight, const TensorView& workspace, const InputNorm* norm) const {
    requireDense(x, shape_.input, "input");
    requireDense(dy, shape_.output(), "output gradient");
    requireDense(dweight, shape_.weight(), "weight gradient");
    if (norm && !normalizesInput()) throw std::invalid_argument("conv2d: the GPU variant does not normalize its input");
    // A sum over the batch: chunks after the first add to the weight gradient, in order.
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, dy}, "conv2d_grad_weight"),
                   [&](uint32_t first, uint32_t count) {
                       gradWeightChunk(rec, x.batch(first, count), dy.batch(first, count), dweight,
                                       workspace, first > 0, norm);
                   });
}

void Conv2d::gradWeightChunk(const Recording& rec, const TensorView& x, const TensorView& dy,
                             const TensorView& dweight, const TensorView& workspace, bool accumulate,
                             const InputNorm* norm) const {
    const auto& s = shape_;
    const Shape out{x.shape().n, s.outChannels, s.output().h, s.output().w};
    const TensorView partials = parts_ > 1 ? workspace.prefix(uint64_t{parts_} * s.weight().elements()) : workspace;
    const TensorView target = parts_ > 1 ? partials : dweight;
    if (variant_ == Variant::Gpu) {
        gemm(rec, GemmPass::GradWeight, x, dy, dy, target,
             accumulate && parts_ == 1 ? ConvOutput::Add : ConvOutput::Write);
        reduceParts(rec, partials, dweight, accumulate);
        return;
    }
    // dy read as vec4 texels, four output columns a step, where its layout allows.
    const bool dyVec4 = rowsOfVec4(dy);
    const bool xVec4 = dyVec4 && s.pad + s.stride <= s.kernelW && rowsOfVec4(x);
    Specialization spec{{"WORKGROUP_X", gradWorkgroup_}, {"R", s.kernelH}, {"S", s.kernelW}, {"STRIDE", s.stride},
                        {"TK", tiles_.gradK}, {"TC", tiles_.gradC}, {"TW", dyVec4 ? 4u : tiles_.gradCols}, {"PAD", s.pad},
                        {"DY_VEC4", dyVec4 ? 1u : 0u}, {"X_VEC4", xVec4 ? 1u : 0u}, {"ACCUMULATE", accumulate && parts_ == 1 ? 1u : 0u}};
    // Stride 1 only: 1.05-1.13x there on lavapipe, 0.9x on the strided shapes (docs/PERFORMANCE.md).
    if (xVec4 && s.kernelW > 1 && s.stride == 1) spec["CARRY_X"] = 1;
    // Rows of at most kMaxUnrolledSteps steps unroll (conv2d_grad_weight.glsl, ROW_STEPS).
    const uint32_t stepColumns = dyVec4 ? 4u : tiles_.gradCols;
    if (out.w % stepColumns == 0 && out.w / stepColumns <= kMaxUnrolledSteps) spec["ROW_STEPS"] = out.w / stepColumns;
    else if (pairsSteps(s, out.w, stepColumns)) spec["STEP_PAIRS"] = 1;
    if (norm) spec["INPUT_NORM"] = 1;
    struct Push {
        uint32_t N, C, H, W, xOffset, xSampleStride;
        uint32_t K, OH, OW, dyOffset, dySampleStride;
        uint32_t parts, partialOffset, cLanes;
        NormPush norm;
    } push{x.shape().n, s.input.c, s.input.h, s.input.w, uint32_t(x.offset()), uint32_t(x.strides()[0]),
           out.c, out.h, out.w, uint32_t(dy.offset()), uint32_t(dy.strides()[0]), parts_, uint32_t(target.offset()),
           cLanes_, normPush(norm, s.input.c, "conv2d_grad_weight")};
    const bool texels = fitsTexels(rec.device(), x, 1) && fitsTexels(rec.device(), dy, 1);
    // dy is the same across a subgroup's lanes where they differ only in their input channels.
    const bool shareDy = subgroupLanes_ && texels && cLanes_ % subgroupLanes_ == 0;
    if (shareDy) spec["LANES"] = subgroupLanes_;
    // Without a norm, bindings 5-7 (texels in every twin) are never touched.
    const TensorView noNorm = texelBinding(false, x);
    rec.recorder.dispatch(rec.pipelines.get(withLoads("conv2d_grad_weight", texels, shareDy), spec),
                          {x, dy, target, dy, x, norm ? norm->stats : noNorm, norm ? norm->gamma : noNorm, norm ? norm->beta : noNorm},
                          push, {parts_, gradGrid_[0], gradGrid_[1]});
    rec.recorder.countFlops(2.0 * double(out.elements()) * s.input.c * s.kernelH * s.kernelW);
    reduceParts(rec, partials, dweight, accumulate);
}

void Conv2d::reduceParts(const Recording& rec, const TensorView& partials, const TensorView& dweight,
                         bool accumulate) const {
    if (parts_ == 1) return;
    sumParts(rec, partials, uint32_t(partials.offset()), uint32_t(shape_.weight().elements()), parts_, dweight,
             uint32_t(dweight.offset()), accumulate);
}

// The samples a GPU-variant dispatch covers: what the storage range allows, and few enough that
// the grid's x (blocks of positions) stays within the device's count.
uint32_t Conv2d::samplesPerGemm(const Pipelines& pipelines, const TensorView& in, const TensorView& out,
                                std::string_view kernel) const {
    const Shape& positions = in.shape().h * in.shape().w > out.shape().h * out.shape().w ? in.shape() : out.shape();
    const uint64_t perSample = uint64_t{positions.h} * positions.w;
    const uint64_t byGrid = uint64_t{pipelines.device().info().limits.maxComputeWorkGroupCount[0]} * kGemmBlock / perSample;
    if (byGrid == 0) throw std::invalid_argument(std::string(kernel) + ": one sample's positions exceed the device's workgroup count");
    return static_cast<uint32_t>(std::min<uint64_t>(samplesPerDispatch(pipelines.device(), {in, out}, kernel), byGrid));
}

void Conv2d::gemm(const Recording& rec, GemmPass pass, const TensorView& in, const TensorView& out,
                  const TensorView& weights, const TensorView& target, ConvOutput output, const FixedPoint* fixed,
                  uint32_t py, uint32_t px) const {
    const auto& s = shape_;
    const Shape& i = in.shape();
    const Shape& o = out.shape();
    // conv2d_gemm.glsl's push constants.
    struct GemmPush {
        int32_t N, C, H, W, inOffset, inSampleStride;
        int32_t K, OH, OW, outOffset, outSampleStride;
        int32_t wOffset;
        int32_t overflowAt;
    } push{int32_t(i.n), int32_t(i.c), int32_t(i.h), int32_t(i.w), int32_t(in.offset()), int32_t(in.strides()[0]),
           int32_t(o.c), int32_t(o.h), int32_t(o.w), int32_t(out.offset()), int32_t(out.strides()[0]),
           int32_t(target.offset()), fixed ? int32_t(fixed->overflow.offset()) : 0};
    const uint32_t threads = (kGemmBlock / 4) * (kGemmBlock / gemmColumns_);
    Specialization spec{{"WORKGROUP_X", threads}, {"R", s.kernelH}, {"S", s.kernelW}, {"STRIDE", s.stride}, {"PAD", s.pad},
                        {"TN", gemmColumns_}, {"ACCUMULATE", output != ConvOutput::Write ? 1u : 0u}};
    if (output == ConvOutput::Subtract) spec["SUBTRACT"] = 1;  // the forward pass alone has it
    const uint64_t taps = uint64_t{s.kernelH} * s.kernelW;
    // The product's m and n (conv2d_gemm.glsl), the shader, its bindings, and the share of the
    // pass's multiply-adds this dispatch does.
    uint64_t m = o.c, n = uint64_t{o.n} * o.h * o.w;
    ShaderName shader = "conv2d_gemm_forward";
    // The forward pass binds the overflow flag too; without a fixed-point coupling it is never written.
    std::vector<TensorView> bindings{in, weights, out, fixed ? fixed->overflow : out};
    if (fixed) spec["FIXED_BITS"] = fixedBits(*fixed);
    double share = 1.0;
    uint32_t parts = 1;
    if (pass == GemmPass::GradInput) {
        const uint64_t rows = ceilDiv(i.h - py, s.stride), cols = ceilDiv(i.w - px, s.stride);
        m = i.c, n = i.n * rows * cols, shader = "conv2d_gemm_grad_input", bindings = {out, weights, in};
        share = double(rows * cols) / (double(i.h) * i.w);
        spec["PY"] = py, spec["PX"] = px;
    } else if (pass == GemmPass::GradWeight) {
        n = i.c * taps, shader = "conv2d_gemm_grad_weight", bindings = {in, out, target}, parts = parts_;
    }
    if (pass != GemmPass::GradWeight) push.wOffset = int32_t(weights.offset());
    const uint32_t rows = gemmRows(m, n, threads);
    spec["BM"] = rows;
    rec.recorder.dispatch(rec.pipelines.get(shader, spec), bindings, std::as_bytes(std::span<const GemmPush>(&push, 1)),
                      {ceilDiv(n, kGemmBlock * kGemmBlock / rows), ceilDiv(m, rows), parts});
    rec.recorder.countFlops(2.0 * double(o.elements()) * i.c * taps * share);
}

}  // namespace revnet::kernels
