#include "revnet/kernels/batch_norm.hpp"

#include "kernels/dispatch.hpp"
#include "kernels/reduce_parts.hpp"

#include <algorithm>

namespace revnet::kernels {

namespace {

// Reductions: one workgroup per channel. Fewer invocations on CPU devices, where each barrier of
// the final tree suspends every SIMD chunk of the group.
uint32_t reductionGroup(const Pipelines& pipelines, uint32_t items, Variant variant) {
    const uint32_t limit = resolve(variant, pipelines.device().info()) == Variant::Cpu ? 64 : 256;
    return powerOfTwoAtMost(items, workgroupAtMost(pipelines.device(), limit));
}

// The most items an invocation of the reductions (batch_norm_statistics, batch_norm_backward_reduce)
// takes with its loops unrolled; past it (large planes), loops.
constexpr uint32_t kMaxUnrolledSteps = 64;

// Adds the reductions' STEPS_N and STEPS_I (samples a part, items a sample an invocation) where
// they unroll within kMaxUnrolledSteps.
void unrollSteps(Specialization& spec, uint32_t samples, uint32_t parts, uint32_t items, uint32_t group) {
    const uint32_t stepsN = ceilDiv(samples, parts), stepsI = ceilDiv(items, group);
    if (stepsN * stepsI <= kMaxUnrolledSteps) spec["STEPS_N"] = stepsN, spec["STEPS_I"] = stepsI;
}

// A reduction aims for this many workgroups, splitting the batch into at most kMaxParts parts:
// a GPU needs hundreds to fill its compute units, and on lavapipe (where a workgroup's loop
// over its samples is what costs) 512 measured best (256 and 128 less so; 1024 spent the gain
// merging).
constexpr uint32_t kReductionGroups = 512, kMaxParts = 64;

// The parts a dispatch over `samples` samples uses: what batchNormParts asks, as far as the
// partials the caller lent hold.
uint32_t partsFor(const BatchNormOptions& options, uint32_t channels, uint32_t samples) {
    if (!options.partials) return 1;
    const uint32_t wanted = batchNormParts(channels, samples);
    const uint64_t room = options.partials->shape().elements() / (2 * uint64_t{channels});
    return uint32_t(std::max<uint64_t>(1, std::min<uint64_t>(wanted, room)));
}

struct Params {
    uint32_t stats, gamma, beta;
};

Params params(const TensorView& stats, const TensorView& gamma, const TensorView& beta, uint32_t c, std::string_view kernel) {
    return {denseOffset(stats, 2 * uint64_t{c}, kernel, "statistics"), denseOffset(gamma, c, kernel, "gamma"),
            denseOffset(beta, c, kernel, "beta")};
}

}  // namespace

uint32_t batchNormParts(uint32_t channels, uint32_t samples) {
    if (channels == 0 || samples == 0) return 1;
    return std::clamp<uint32_t>(ceilDiv(kReductionGroups, channels), 1, std::min(samples, kMaxParts));
}

uint64_t batchNormSharesWorkspace(uint32_t channels, uint32_t count) { return count > 1 ? 2 * uint64_t{channels} * count : 0; }

uint64_t batchNormPartials(uint32_t channels, uint32_t samples) {
    const uint32_t parts = batchNormParts(channels, samples);
    return parts > 1 ? 2 * uint64_t{channels} * parts : 0;
}

namespace {

// batch_norm_statistics_merge.comp's push constants.
struct MergePush {
    uint32_t N, C, plane, statsOffset, runningOffset;
    float momentum;
    uint32_t priorSamples, partialsOffset;
};

// What batch_norm_statistics_merge.comp's parts are: the split reduction's, the processes'
// statistics, or convolution workgroups' moments.
enum class Parts { Split, Shares, Counted };

// Merges `parts` partial statistics into stats (MERGE: with the batch chunks before; UPDATE: the
// running statistics).
void recordMerge(const Recording& rec, const MergePush& push, const TensorView& stats,
                 const TensorView& running, const TensorView& partials, bool update, bool merge, uint32_t parts,
                 Parts kind) {
    const uint32_t local = workgroupAtMost(rec.device(), 64);
    const Kernel& kernel = rec.pipelines.get("batch_norm_statistics_merge", {{"WORKGROUP_X", local}, {"UPDATE", update ? 1u : 0u},
                                                                         {"MERGE", merge ? 1u : 0u}, {"PARTS", parts},
                                                                         {"SHARES", kind == Parts::Shares ? 1u : 0u},
                                                                         {"COUNTED", kind == Parts::Counted ? 1u : 0u}});
    rec.recorder.dispatch(kernel, {stats, running, partials}, push, {ceilDiv(push.C, local), 1, 1});
}

}  // namespace

// Batch chunks (dispatch.hpp): each merges its statistics into those of the chunks before it;
// the last one moves the running statistics.
void batchNormStatistics(const Recording& rec, const TensorView& whole, const TensorView& stats,
                         const TensorView& running, bool updateRunning, const BatchNormOptions& options) {
    constexpr ShaderName name{"batch_norm_statistics"};
    const uint32_t samples = whole.shape().n;
    const BatchNormShares* shares = options.shares && options.shares->count > 1 ? options.shares : nullptr;
    const bool updateHere = updateRunning && !shares;  // with shares, by the whole batch's statistics below
    forBatchChunks(samples, samplesPerDispatch(rec.device(), {whole}, name), [&](uint32_t first, uint32_t count) {
        const TensorView x = whole.batch(first, count);
        const Shape& s = x.shape();
        const uint32_t parts = partsFor(options, s.c, s.n);
        const TensorView partials = parts > 1 ? *options.partials : stats;
        struct Push {
            uint32_t N, C, plane;
            ChannelView x;
            uint32_t statsOffset, runningOffset;
            float momentum;
            uint32_t priorSamples, partialsOffset;
        } push{s.n, s.c, s.h * s.w, channelView(x, name), denseOffset(stats, 2 * uint64_t{s.c}, name, "statistics"),
               denseOffset(running, 2 * uint64_t{s.c}, name, "running statistics"), options.momentum, first,
               uint32_t(partials.offset())};
        const PlaneLayout l = planeLayout(push.plane, {push.x}, workgroupAtMost(rec.device(), 256));
        const uint32_t group = reductionGroup(rec.pipelines, l.items, options.variant);
        const uint32_t update = updateHere && first + count == samples ? 1 : 0, merge = first > 0 ? 1 : 0;
        const bool texels = texelLoads(rec.device(), l.vec4, {x});
        Specialization spec{{"WORKGROUP_X", group}, {"UPDATE", update}, {"MERGE", merge}, {"PARTS", parts},
                            {"VEC4", l.vec4 ? 1u : 0u}, {"TEXELS", texels ? 1u : 0u}};
        unrollSteps(spec, s.n, parts, l.items, group);
        const Kernel& kernel = rec.pipelines.get(name, spec);
        rec.recorder.dispatch(kernel, {x, stats, running, partials, texelBinding(texels, x)}, push, {s.c, parts, 1});
        if (parts == 1) return;
        const MergePush mergePush{s.n, s.c, s.h * s.w, push.statsOffset, push.runningOffset, push.momentum, first,
                                  push.partialsOffset};
        recordMerge(rec, mergePush, stats, running, partials, update, merge, parts, Parts::Split);
    });
    if (!shares) return;
    // Every share's [mean, variance], merged in share order as the split reduction merges its
    // parts: the same figures on every process.
    const uint32_t c = whole.shape().c;
    const TensorView gathered = shares->gathered.prefix(batchNormSharesWorkspace(c, shares->count));
    shares->gather(rec.recorder, stats.prefix(2 * uint64_t{c}), gathered);
    const MergePush push{samples * shares->count, c, whole.shape().h * whole.shape().w,
                         denseOffset(stats, 2 * uint64_t{c}, name, "statistics"),
                         denseOffset(running, 2 * uint64_t{c}, name, "running statistics"), options.momentum, 0,
                         uint32_t(gathered.offset())};
    recordMerge(rec, push, stats, running, gathered, updateRunning, false, shares->count, Parts::Shares);
}

void batchNormMergeMoments(const Recording& rec, const TensorView& partials, uint32_t parts, uint32_t channels,
                           const TensorView& stats, const TensorView& running, bool updateRunning,
                           const BatchNormOptions& options) {
    constexpr std::string_view name = "batch_norm_statistics_merge";
    const MergePush push{parts, channels, 1, denseOffset(stats, 2 * uint64_t{channels}, name, "statistics"),
                         denseOffset(running, 2 * uint64_t{channels}, name, "running statistics"), options.momentum, 0,
                         uint32_t(partials.offset())};
    recordMerge(rec, push, stats, running, partials, updateRunning, false, parts, Parts::Counted);
}

namespace {

void forwardChunk(const Recording& rec, const TensorView& x, const TensorView& stats,
                  const TensorView& gamma, const TensorView& beta, const TensorView& y, const BatchNormOptions& options) {
    constexpr ShaderName name{"batch_norm_forward"};
    const Shape& s = x.shape();
    requireShape(y, s, name, "output");
    const Params at = params(stats, gamma, beta, s.c, name);
    struct Push {
        uint32_t N, C, plane;
        ChannelView x, y;
        uint32_t statsOffset, gammaOffset, betaOffset;
        float eps;
    } push{s.n, s.c, s.h * s.w, channelView(x, name), channelView(y, name), at.stats, at.gamma, at.beta, options.eps};
    const PlaneLayout l = planeLayout(push.plane, {push.x, push.y}, workgroupAtMost(rec.device(), 256));
    const ChannelsGrid grid = channelsGrid(rec.device(), s.n, s.c, l.items, l.group, l.perInvocation);
    const bool texels = texelLoads(rec.device(), l.vec4, {x});
    const Kernel& kernel = rec.pipelines.get(name, grid.specialization({{"RELU", options.relu ? 1u : 0u}, {"VEC4", l.vec4 ? 1u : 0u},
                                                                        {"TEXELS", texels ? 1u : 0u}}));
    rec.recorder.dispatch(kernel, {x, stats, gamma, beta, y, texelBinding(texels, x)}, push, grid.groups);
}

void backwardReduceChunk(const Recording& rec, const TensorView& x, const TensorView& dy,
                         const TensorView& stats, const TensorView& gamma, const TensorView& beta,
                         const TensorView& dgamma, const TensorView& dbeta, bool accumulate, const BatchNormOptions& options) {
    constexpr ShaderName name{"batch_norm_backward"};
    const Shape& s = x.shape();
    const Params at = params(stats, gamma, beta, s.c, name);
    const uint32_t dg = denseOffset(dgamma, s.c, name, "dgamma"), db = denseOffset(dbeta, s.c, name, "dbeta");
    const uint32_t relu = options.relu ? 1 : 0;

    const uint32_t parts = partsFor(options, s.c, s.n);
    const TensorView partials = parts > 1 ? *options.partials : dgamma;
    struct Reduce {
        uint32_t N, C, plane;
        ChannelView x, dy;
        uint32_t statsOffset, gammaOffset, betaOffset, dgammaOffset, dbetaOffset;
        float eps;
        uint32_t partialsOffset;
    } reduce{s.n, s.c, s.h * s.w, channelView(x, name), channelView(dy, name), at.stats, at.gamma, at.beta, dg, db,
             options.eps, uint32_t(partials.offset())};
    const PlaneLayout reduceLayout = planeLayout(reduce.plane, {reduce.x, reduce.dy});
    const uint32_t group = reductionGroup(rec.pipelines, reduceLayout.items, options.variant);
    const bool texels = texelLoads(rec.device(), reduceLayout.vec4, {x, dy});
    Specialization spec{{"WORKGROUP_X", group}, {"RELU", relu}, {"ACCUMULATE", accumulate ? 1u : 0u}, {"PARTS", parts},
                        {"VEC4", reduceLayout.vec4 ? 1u : 0u}, {"TEXELS", texels ? 1u : 0u}};
    unrollSteps(spec, s.n, parts, reduceLayout.items, group);
    rec.recorder.dispatch(rec.pipelines.get("batch_norm_backward_reduce", spec),
                          {x, dy, stats, gamma, beta, dgamma, dbeta, partials, texelBinding(texels, x), texelBinding(texels, dy)},
                          reduce, {s.c, parts, 1});
    if (parts == 1) return;
    // The parts' sums, in order: dbeta's block, then dgamma's.
    sumParts(rec, partials, reduce.partialsOffset, s.c, parts, dbeta, db, accumulate);
    sumParts(rec, partials, reduce.partialsOffset + parts * s.c, s.c, parts, dgamma, dg, accumulate);
}

void backwardChunk(const Recording& rec, const TensorView& x, const TensorView& dy,
                   const TensorView& stats, const TensorView& gamma, const TensorView& beta, const TensorView& dgamma,
                   const TensorView& dbeta, const TensorView& dx, bool accumulate, uint32_t totalSamples,
                   const BatchNormOptions& options) {
    constexpr ShaderName name{"batch_norm_backward"};
    const Shape& s = x.shape();
    const Params at = params(stats, gamma, beta, s.c, name);
    const uint32_t dg = denseOffset(dgamma, s.c, name, "dgamma"), db = denseOffset(dbeta, s.c, name, "dbeta");
    const uint32_t relu = options.relu ? 1 : 0;
    struct Push {
        uint32_t N, C, plane;
        ChannelView x, dy, dx;
        uint32_t statsOffset, gammaOffset, betaOffset, dgammaOffset, dbetaOffset;
        float eps;
        uint32_t totalSamples;
    } push{s.n, s.c, s.h * s.w, channelView(x, name), channelView(dy, name), channelView(dx, name), at.stats, at.gamma,
           at.beta, dg, db, options.eps, totalSamples};
    const PlaneLayout l = planeLayout(push.plane, {push.x, push.dy, push.dx}, workgroupAtMost(rec.device(), 256));
    const ChannelsGrid grid = channelsGrid(rec.device(), s.n, s.c, l.items, l.group, l.perInvocation);
    const bool texels = texelLoads(rec.device(), l.vec4, {x, dy});
    const Kernel& kernel = rec.pipelines.get(name, grid.specialization({{"RELU", relu}, {"ACCUMULATE", accumulate ? 1u : 0u},
                                                                        {"VEC4", l.vec4 ? 1u : 0u}, {"TEXELS", texels ? 1u : 0u}}));
    rec.recorder.dispatch(kernel, {x, dy, stats, gamma, beta, dgamma, dbeta, dx, texelBinding(texels, x), texelBinding(texels, dy)},
                          push, grid.groups);
}

}  // namespace

void batchNormForward(const Recording& rec, const TensorView& x, const TensorView& stats,
                      const TensorView& gamma, const TensorView& beta, const TensorView& y,
                      const BatchNormOptions& options) {
    requireShape(y, x.shape(), "batch_norm_forward", "output");
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, y}, "batch_norm_forward"),
                   [&](uint32_t first, uint32_t count) {
                       forwardChunk(rec, x.batch(first, count), stats, gamma, beta, y.batch(first, count),
                                    options);
                   });
}

namespace {

// The samples each of batch norm's backward dispatches covers, once the gradients' shapes are checked.
uint32_t backwardSamples(const Recording& rec, const TensorView& x, const TensorView& dy, const TensorView& dx) {
    constexpr ShaderName name{"batch_norm_backward"};
    requireShape(dy, x.shape(), name, "output gradient");
    requireShape(dx, x.shape(), name, "input gradient");
    return samplesPerDispatch(rec.device(), {x, dy, dx}, name);
}

}  // namespace

void batchNormBackward(const Recording& rec, const TensorView& x, const TensorView& dy,
                       const TensorView& stats, const TensorView& gamma, const TensorView& beta,
                       const TensorView& dgamma, const TensorView& dbeta, const TensorView& dx, bool accumulate,
                       const BatchNormOptions& options) {
    // Every chunk's parameter gradients (summed in order) before any chunk's input gradient.
    forBatchChunks(x.shape().n, backwardSamples(rec, x, dy, dx), [&](uint32_t first, uint32_t count) {
        backwardReduceChunk(rec, x.batch(first, count), dy.batch(first, count), stats, gamma, beta,
                            dgamma, dbeta, first > 0, options);
    });
    batchNormBackwardFromSums(rec, x, dy, stats, gamma, beta, dgamma, dbeta, dx, accumulate, options);
}

void batchNormBackwardFromSums(const Recording& rec, const TensorView& x, const TensorView& dy,
                               const TensorView& stats, const TensorView& gamma, const TensorView& beta,
                               const TensorView& dgamma, const TensorView& dbeta, const TensorView& dx, bool accumulate,
                               const BatchNormOptions& options) {
    const uint32_t samples = x.shape().n, chunk = backwardSamples(rec, x, dy, dx);
    if (options.shares && options.shares->count > 1) {
        const uint32_t c = x.shape().c;
        const TensorView sums[] = {dgamma.prefix(c), dbeta.prefix(c)};
        options.shares->average(rec.recorder, sums);
    }
    forBatchChunks(samples, chunk, [&](uint32_t first, uint32_t count) {
        backwardChunk(rec, x.batch(first, count), dy.batch(first, count), stats, gamma, beta, dgamma,
                      dbeta, dx.batch(first, count), accumulate, samples, options);
    });
}

}  // namespace revnet::kernels
