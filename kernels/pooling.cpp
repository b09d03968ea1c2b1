#include "revnet/kernels/pooling.hpp"

#include "kernels/dispatch.hpp"

namespace revnet::kernels {

namespace {

constexpr uint32_t kGroup = 256;
constexpr uint32_t kItems = 2;  // per invocation: amortizes the per-row set-up

struct PoolPush {
    uint32_t N, C, H, W, Cout, padBefore;
    ChannelView first, second;
};

// x is the pooling's input side, y its output side (forward or backward alike).
PoolPush poolPush(const TensorView& x, const TensorView& y, uint32_t padBefore, std::string_view name) {
    const Shape& in = x.shape();
    if (in.h % 2 || in.w % 2)
        throw std::invalid_argument(std::string(name) + ": needs even height and width, got " + toString(in));
    const Shape& out = y.shape();
    if (out.n != in.n || out.h != in.h / 2 || out.w != in.w / 2 || padBefore + in.c > out.c)
        throw std::invalid_argument(std::string(name) + ": cannot pool " + toString(in) + " into " + toString(out) +
                                    " after " + std::to_string(padBefore) + " padding channels");
    return {in.n, in.c, in.h, in.w, out.c, padBefore};
}

void avgPool2x2ForwardChunk(const Recording& rec, const TensorView& x, const TensorView& y, uint32_t padBefore) {
    constexpr ShaderName name{"avg_pool_2x2_forward"};
    PoolPush push = poolPush(x, y, padBefore, name);
    push.first = channelView(x, name);
    push.second = channelView(y, name);
    const Shape& o = y.shape();
    const bool vec4 = planeLayout(x.shape().w, {push.first, push.second}).vec4;  // W % 4, offsets, strides
    const uint32_t items = o.h * o.w / (vec4 ? 2 : 1), group = powerOfTwoAtMost(std::max(items / kItems, 1u), workgroupAtMost(rec.device(), kGroup));
    const ChannelsGrid grid = channelsGrid(rec.device(), o.n, o.c, items, group, kItems);
    const bool texels = texelLoads(rec.device(), vec4, {x});
    rec.recorder.dispatch(rec.pipelines.get(name, grid.specialization({{"VEC4", vec4 ? 1u : 0u}, {"TEXELS", texels ? 1u : 0u}})),
                          {x, y, texelBinding(texels, x)}, push, grid.groups);
}

void avgPool2x2BackwardChunk(const Recording& rec, const TensorView& dy, const TensorView& dx,
                             uint32_t padBefore, bool accumulate) {
    constexpr ShaderName name{"avg_pool_2x2_backward"};
    PoolPush push = poolPush(dx, dy, padBefore, name);
    push.first = channelView(dy, name);
    push.second = channelView(dx, name);
    const Shape& i = dx.shape();
    const bool vec4 = planeLayout(i.w, {push.second}).vec4 && push.first.offset % 2 == 0 && push.first.sampleStride % 2 == 0;
    const uint32_t items = i.h * i.w / (vec4 ? 4 : 1), group = powerOfTwoAtMost(std::max(items / kItems, 1u), workgroupAtMost(rec.device(), kGroup));
    const ChannelsGrid grid = channelsGrid(rec.device(), i.n, i.c, items, group, kItems);
    const bool texels = fitsTexels(rec.device(), dy, 1) && (!vec4 || fitsTexels(rec.device(), dx, 4));
    const Kernel& kernel = rec.pipelines.get(name, grid.specialization({{"ACCUMULATE", accumulate ? 1u : 0u}, {"VEC4", vec4 ? 1u : 0u},
                                                                        {"TEXELS", texels ? 1u : 0u}}));
    rec.recorder.dispatch(kernel, {dy, dx, texelBinding(texels, dy), texelBinding(texels && vec4, dx)}, push, grid.groups);
}

// The sizes that lead the push constants of max_pool_3x3_forward.comp and _backward.comp.
struct MaxPoolSizes {
    uint32_t N, C, H, W, OH, OW;
};

MaxPoolSizes maxPoolSizes(const TensorView& x, const TensorView& y, std::string_view name) {
    const Shape& in = x.shape();
    const Shape expected = maxPool3x3Output(in);
    if (y.shape() != expected)
        throw std::invalid_argument(std::string(name) + ": pools " + toString(in) + " into " + toString(expected) +
                                    ", not " + toString(y.shape()));
    return {in.n, in.c, in.h, in.w, expected.h, expected.w};
}

void maxPool3x3ForwardChunk(const Recording& rec, const TensorView& x, const TensorView& y) {
    constexpr ShaderName name{"max_pool_3x3_forward"};
    struct Push {
        MaxPoolSizes sizes;
        ChannelView x, y;
    } push{maxPoolSizes(x, y, name), channelView(x, name), channelView(y, name)};
    const uint32_t items = push.sizes.OH * push.sizes.OW;
    const uint32_t group = powerOfTwoAtMost(std::max(items / kItems, 1u), workgroupAtMost(rec.device(), kGroup));
    const ChannelsGrid grid = channelsGrid(rec.device(), push.sizes.N, push.sizes.C, items, group, kItems);
    rec.recorder.dispatch(rec.pipelines.get(name, grid.specialization()), {x, y}, push, grid.groups);
}

void maxPool3x3BackwardChunk(const Recording& rec, const TensorView& x, const TensorView& dy,
                             const TensorView& dx, bool accumulate) {
    constexpr ShaderName name{"max_pool_3x3_backward"};
    if (dx.shape() != x.shape())
        throw std::invalid_argument(std::string(name) + ": the gradient " + toString(dx.shape()) +
                                    " is not shaped as the input " + toString(x.shape()));
    struct Push {
        MaxPoolSizes sizes;
        ChannelView x, dy, dx;
    } push{maxPoolSizes(x, dy, name), channelView(x, name), channelView(dy, name), channelView(dx, name)};
    const uint32_t items = push.sizes.H * push.sizes.W;
    const uint32_t group = powerOfTwoAtMost(std::max(items / kItems, 1u), workgroupAtMost(rec.device(), kGroup));
    const ChannelsGrid grid = channelsGrid(rec.device(), push.sizes.N, push.sizes.C, items, group, kItems);
    rec.recorder.dispatch(rec.pipelines.get(name, grid.specialization({{"ACCUMULATE", accumulate ? 1u : 0u}})), {x, dy, dx}, push, grid.groups);
}

void globalAvgPoolForwardChunk(const Recording& rec, const TensorView& x, const TensorView& y) {
    constexpr ShaderName name{"global_avg_pool_forward"};
    const Shape& s = x.shape();
    struct Push {
        uint32_t N, C, plane;
        ChannelView x;
        uint32_t yOffset;
    } push{s.n, s.c, s.h * s.w, channelView(x, name), denseOffset(y, uint64_t{s.n} * s.c, name, "output")};
    const bool vec4 = planeLayout(push.plane, {push.x}).vec4;
    rec.recorder.dispatch(rec.pipelines.get(name, {{"WORKGROUP_X", 64}, {"VEC4", vec4 ? 1u : 0u}}), {x, y}, push,
                      {groupsFor(rec.device(), uint64_t{s.n} * s.c, 64), 1, 1});
}

void globalAvgPoolBackwardChunk(const Recording& rec, const TensorView& dy, const TensorView& dx, bool accumulate) {
    constexpr ShaderName name{"global_avg_pool_backward"};
    const Shape& s = dx.shape();
    struct Push {
        uint32_t N, C, plane;
        uint32_t dyOffset;
        ChannelView dx;
    } push{s.n, s.c, s.h * s.w, denseOffset(dy, uint64_t{s.n} * s.c, name, "output gradient"), channelView(dx, name)};
    const uint32_t group = powerOfTwoAtMost(push.plane, workgroupAtMost(rec.device(), kGroup));
    const ChannelsGrid grid = channelsGrid(rec.device(), s.n, s.c, push.plane, group);
    rec.recorder.dispatch(rec.pipelines.get(name, grid.specialization({{"ACCUMULATE", accumulate ? 1u : 0u}})), {dy, dx}, push, grid.groups);
}

}  // namespace

// Each runs in batch chunks whose bindings fit the device's storage range (dispatch.hpp).
void avgPool2x2Forward(const Recording& rec, const TensorView& x, const TensorView& y, uint32_t padBefore) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, y}, "avg_pool_2x2_forward"),
                   [&](uint32_t first, uint32_t count) {
                       avgPool2x2ForwardChunk(rec, x.batch(first, count), y.batch(first, count), padBefore);
                   });
}

void avgPool2x2Backward(const Recording& rec, const TensorView& dy, const TensorView& dx,
                        uint32_t padBefore, bool accumulate) {
    forBatchChunks(dx.shape().n, samplesPerDispatch(rec.device(), {dy, dx}, "avg_pool_2x2_backward"),
                   [&](uint32_t first, uint32_t count) {
                       avgPool2x2BackwardChunk(rec, dy.batch(first, count), dx.batch(first, count),
                                               padBefore, accumulate);
                   });
}

Shape maxPool3x3Output(const Shape& input) { return {input.n, input.c, (input.h + 1) / 2, (input.w + 1) / 2}; }

void maxPool3x3Forward(const Recording& rec, const TensorView& x, const TensorView& y) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, y}, "max_pool_3x3_forward"),
                   [&](uint32_t first, uint32_t count) {
                       maxPool3x3ForwardChunk(rec, x.batch(first, count), y.batch(first, count));
                   });
}

void maxPool3x3Backward(const Recording& rec, const TensorView& x, const TensorView& dy,
                        const TensorView& dx, bool accumulate) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, dy, dx}, "max_pool_3x3_backward"),
                   [&](uint32_t first, uint32_t count) {
                       maxPool3x3BackwardChunk(rec, x.batch(first, count), dy.batch(first, count),
                                               dx.batch(first, count), accumulate);
                   });
}

// The pooled side is N x C: sliced along with the batch (it must then be an N x C x 1 x 1 view).
void globalAvgPoolForward(const Recording& rec, const TensorView& x, const TensorView& y) {
    const uint32_t chunk = samplesPerDispatch(rec.device(), {x}, "global_avg_pool_forward");
    if (chunk >= x.shape().n) return globalAvgPoolForwardChunk(rec, x, y);
    forBatchChunks(x.shape().n, chunk, [&](uint32_t first, uint32_t count) {
        globalAvgPoolForwardChunk(rec, x.batch(first, count), y.batch(first, count));
    });
}

void globalAvgPoolBackward(const Recording& rec, const TensorView& dy, const TensorView& dx, bool accumulate) {
    const uint32_t chunk = samplesPerDispatch(rec.device(), {dx}, "global_avg_pool_backward");
    if (chunk >= dx.shape().n) return globalAvgPoolBackwardChunk(rec, dy, dx, accumulate);
    forBatchChunks(dx.shape().n, chunk, [&](uint32_t first, uint32_t count) {
        globalAvgPoolBackwardChunk(rec, dy.batch(first, count), dx.batch(first, count), accumulate);
    });
}

}  // namespace revnet::kernels
