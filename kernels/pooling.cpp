#include "kernels/pooling.hpp"

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
PoolPush poolPush(const TensorView& x, const TensorView& y, uint32_t padBefore, const char* name) {
    const Shape& in = x.shape();
    if (in.h % 2 || in.w % 2)
        throw std::invalid_argument(std::string(name) + ": needs even height and width, got " + toString(in));
    const Shape& out = y.shape();
    if (out.n != in.n || out.h != in.h / 2 || out.w != in.w / 2 || padBefore + in.c > out.c)
        throw std::invalid_argument(std::string(name) + ": cannot pool " + toString(in) + " into " + toString(out) +
                                    " after " + std::to_string(padBefore) + " padding channels");
    return {in.n, in.c, in.h, in.w, out.c, padBefore};
}

}  // namespace

void avgPool2x2Forward(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const TensorView& y,
                       uint32_t padBefore) {
    const char* name = "avg_pool_2x2_forward";
    PoolPush push = poolPush(x, y, padBefore, name);
    push.first = channelView(x, name);
    push.second = channelView(y, name);
    const Shape& o = y.shape();
    const bool vec4 = planeLayout(x.shape().w, {push.first, push.second}).vec4;  // W % 4, offsets, strides
    const uint32_t items = o.h * o.w / (vec4 ? 2 : 1), group = powerOfTwoAtMost(std::max(items / kItems, 1u), workgroupAtMost(pipelines.device(), kGroup));
    recorder.dispatch(pipelines.get(name, {{0, group}, {8, kItems}, {9, vec4 ? 1u : 0u}}), {x, y}, push,
                      rowsGrid(pipelines.device(), uint64_t{o.n} * o.c, items, group * kItems));
}

void avgPool2x2Backward(Pipelines& pipelines, Recorder& recorder, const TensorView& dy, const TensorView& dx,
                        uint32_t padBefore, bool accumulate) {
    const char* name = "avg_pool_2x2_backward";
    PoolPush push = poolPush(dx, dy, padBefore, name);
    push.first = channelView(dy, name);
    push.second = channelView(dx, name);
    const Shape& i = dx.shape();
    const bool vec4 = planeLayout(i.w, {push.second}).vec4 && push.first.offset % 2 == 0 && push.first.sampleStride % 2 == 0;
    const uint32_t items = i.h * i.w / (vec4 ? 4 : 1), group = powerOfTwoAtMost(std::max(items / kItems, 1u), workgroupAtMost(pipelines.device(), kGroup));
    recorder.dispatch(pipelines.get(name, {{0, group}, {1, accumulate ? 1u : 0u}, {8, kItems}, {9, vec4 ? 1u : 0u}}), {dy, dx}, push,
                      rowsGrid(pipelines.device(), uint64_t{i.n} * i.c, items, group * kItems));
}

void globalAvgPoolForward(Pipelines& pipelines, Recorder& recorder, const TensorView& x, const TensorView& y) {
    const char* name = "global_avg_pool_forward";
    const Shape& s = x.shape();
    struct Push {
        uint32_t N, C, plane;
        ChannelView x;
        uint32_t yOffset;
    } push{s.n, s.c, s.h * s.w, channelView(x, name), denseOffset(y, uint64_t{s.n} * s.c, name, "output")};
    const bool vec4 = planeLayout(push.plane, {push.x}).vec4;
    recorder.dispatch(pipelines.get(name, {{0, 64}, {9, vec4 ? 1u : 0u}}), {x, y}, push,
                      {groupsFor(pipelines.device(), uint64_t{s.n} * s.c, 64), 1, 1});
}

void globalAvgPoolBackward(Pipelines& pipelines, Recorder& recorder, const TensorView& dy, const TensorView& dx,
                           bool accumulate) {
    const char* name = "global_avg_pool_backward";
    const Shape& s = dx.shape();
    struct Push {
        uint32_t N, C, plane;
        uint32_t dyOffset;
        ChannelView dx;
    } push{s.n, s.c, s.h * s.w, denseOffset(dy, uint64_t{s.n} * s.c, name, "output gradient"), channelView(dx, name)};
    const uint32_t group = powerOfTwoAtMost(push.plane, workgroupAtMost(pipelines.device(), kGroup));
    recorder.dispatch(pipelines.get(name, {{0, group}, {1, accumulate ? 1u : 0u}}), {dy, dx}, push,
                      rowsGrid(pipelines.device(), uint64_t{s.n} * s.c, push.plane, group));
}

}  // namespace revnet::kernels
