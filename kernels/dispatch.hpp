// Small helpers the kernels' host code shares: grid sizes within the device's limits, and the
// per-channel view description of channels.glsl.
#pragma once

#include "revnet/engine/device.hpp"
#include "revnet/engine/pipelines.hpp"
#include "revnet/engine/tensor.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace revnet::kernels {

inline uint32_t ceilDiv(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

// A power of two no larger than `limit` nor than `items` (at least 1): reduction workgroups.
inline uint32_t powerOfTwoAtMost(uint64_t items, uint32_t limit) {
    uint32_t size = 1;
    while (size * 2 <= limit && size * 2 <= items) size *= 2;
    return size;
}

// Workgroups for `items` invocations in groups of `size`, capped by the device (shaders loop).
inline uint32_t groupsFor(const Device& device, uint64_t items, uint32_t size, int axis = 0) {
    return std::clamp<uint32_t>(ceilDiv(std::max<uint64_t>(items, 1), size), 1,
                                device.info().limits.maxComputeWorkGroupCount[axis]);
}

// The grid of rows.glsl: one invocation per item, x covering a row in groups of `size`, y and z
// counting the rows.
inline std::array<uint32_t, 3> rowsGrid(const Device& device, uint64_t rows, uint64_t items, uint32_t size) {
    const auto& limits = device.info().limits.maxComputeWorkGroupCount;
    const uint64_t x = ceilDiv(std::max<uint64_t>(items, 1), size);
    const uint64_t y = std::clamp<uint64_t>(rows, 1, limits[1]), z = ceilDiv(std::max<uint64_t>(rows, 1), y);
    if (x > limits[0] || z > limits[2])
        throw std::invalid_argument("a grid of " + std::to_string(rows) + " rows of " + std::to_string(items) +
                                    " items exceeds the device's workgroup counts");
    return {uint32_t(x), uint32_t(y), uint32_t(z)};
}

// channels.glsl's dispatch: workgroups of `group` invocations along a plane (each taking
// `perInvocation` items, a group apart) by `samples` samples of one channel, so that small
// planes still fill a workgroup of up to kChannelsLanes invocations; the grid's x covers the
// plane, y the channels, z the samples.
constexpr uint32_t kChannelsLanes = 256;

struct ChannelsGrid {
    uint32_t group, samples, perInvocation;
    std::array<uint32_t, 3> groups;

    // `other` plus the workgroup's shape: channels.glsl's constants 0 (x), 10 (y) and 8 (items).
    Specialization specialization(Specialization other = {}) const {
        other["WORKGROUP_X"] = group;
        other["ITEMS"] = perInvocation;
        other["WORKGROUP_Y"] = samples;
        return other;
    }
};

inline ChannelsGrid channelsGrid(const Device& device, uint32_t samples, uint32_t channels, uint64_t items,
                                 uint32_t group, uint32_t perInvocation = 1) {
    const auto& l = device.info().limits;
    const uint32_t lanes = std::min(kChannelsLanes, l.maxComputeWorkGroupInvocations);
    const uint32_t perGroup = powerOfTwoAtMost(samples, std::min(std::max(lanes / group, 1u), l.maxComputeWorkGroupSize[1]));
    const uint64_t x = ceilDiv(std::max<uint64_t>(items, 1), uint64_t{group} * perInvocation);
    const uint64_t z = ceilDiv(std::max<uint32_t>(samples, 1), perGroup);
    if (x > l.maxComputeWorkGroupCount[0] || channels > l.maxComputeWorkGroupCount[1] || z > l.maxComputeWorkGroupCount[2])
        throw std::invalid_argument("a grid of " + std::to_string(samples) + " x " + std::to_string(channels) +
                                    " planes of " + std::to_string(items) + " items exceeds the device's workgroup counts");
    return {group, perGroup, perInvocation, {uint32_t(x), std::max(channels, 1u), uint32_t(z)}};
}

// Batch splitting: a storage binding holds at most maxStorageBufferRange bytes (128 MiB on
// lavapipe and the Vulkan minimum), so a kernel over samples runs in chunks of consecutive
// samples whose bindings fit: the whole batch at once where it does. Views are sliced with
// TensorView::batch. Throws, naming the kernel, when one sample alone is past the range.
constexpr uint64_t kMaxAlignment = 256;  // the largest binding offset alignment Vulkan allows

inline uint32_t samplesPerDispatch(const Device& device, std::initializer_list<TensorView> views, std::string_view kernel) {
    const uint64_t range = device.info().limits.maxStorageBufferRange;
    uint64_t samples = UINT32_MAX;
    for (const auto& v : views) {
        if (v.binding().bytes <= range) continue;
        const uint64_t sampleBytes = v.strides()[0] * sizeof(float);
        if (range <= kMaxAlignment || (range - kMaxAlignment) / sampleBytes == 0)
            throw std::invalid_argument(std::string(kernel) + ": one sample of a " + toString(v.shape()) +
                                        " view is past the device's maxStorageBufferRange of " + std::to_string(range) +
                                        " bytes");
        samples = std::min(samples, (range - kMaxAlignment) / sampleBytes);
    }
    return static_cast<uint32_t>(samples);
}

// Calls run(first, count) over the batch of `samples` in chunks of at most `chunk`.
template <typename Run>
void forBatchChunks(uint32_t samples, uint32_t chunk, Run&& run) {
    for (uint32_t first = 0; first < samples; first += chunk) run(first, std::min(chunk, samples - first));
}

// Texel bindings hold at most maxTexelBufferElements texels (65536 on SwiftShader, the Vulkan
// minimum); past that a kernel reads the same data through its storage binding.
inline bool fitsTexels(const Device& device, const TensorView& view, uint64_t floatsPerTexel) {
    return view.binding().bytes / (4 * floatsPerTexel) <= device.info().limits.maxTexelBufferElements;
}

// channels.glsl's texel loads (TEXELS): vec4 items, and every view read as texels within the limit.
inline bool texelLoads(const Device& device, bool vec4, std::initializer_list<TensorView> views) {
    return vec4 && std::all_of(views.begin(), views.end(), [&](const TensorView& v) { return fitsTexels(device, v, 4); });
}

// What to bind to a texel binding the shader reads only under `texels`: the view, else the first
// texel of its range (a view past the texel limit cannot be bound as texels at all).
inline TensorView texelBinding(bool texels, const TensorView& view) {
    if (texels) return view;
    const BufferRegion r = view.binding();
    return TensorView(r.buffer, r.offset, sizeof(float), {1, 1, 1, 4}, {4, 4, 4, 1});
}

// channels.glsl's View: where sample 0 starts and the distance between samples, in elements.
struct ChannelView {
    uint32_t offset, sampleStride;
};

inline ChannelView channelView(const TensorView& v, std::string_view kernel) {
    if (!v.samplesContiguous())
        throw std::invalid_argument(std::string(kernel) + ": a view must keep each sample contiguous");
    return {static_cast<uint32_t>(v.offset()), static_cast<uint32_t>(v.strides()[0])};
}

inline void requireShape(const TensorView& v, const Shape& shape, std::string_view kernel, const char* what) {
    if (v.shape() != shape)
        throw std::invalid_argument(std::string(kernel) + ": " + what + " is " + toString(v.shape()) + ", expected " +
                                    toString(shape));
}

// Dense views of `count` elements (parameters, statistics, labels): the element offset.
inline uint32_t denseOffset(const TensorView& v, uint64_t count, std::string_view kernel, const char* what) {
    if (v.shape().elements() != count || !v.samplesContiguous())
        throw std::invalid_argument(std::string(kernel) + ": " + what + " must be " + std::to_string(count) +
                                    " contiguous elements, got " + toString(v.shape()));
    return static_cast<uint32_t>(v.offset());
}

// channels.glsl's items: vec4 when the plane and every view's offset and sample stride are
// multiples of 4; the workgroup a power of two no larger than a row's items (at most `limit`).
struct PlaneLayout {
    bool vec4;
    uint32_t items, group;
    uint32_t perInvocation = 1;  // items an invocation handles (channels.glsl's ITEMS)
};

inline PlaneLayout planeLayout(uint32_t plane, std::initializer_list<ChannelView> views, uint32_t limit = 256) {
    bool vec4 = plane % 4 == 0;
    for (const auto& v : views) vec4 = vec4 && v.offset % 4 == 0 && v.sampleStride % 4 == 0;
    const uint32_t items = vec4 ? plane / 4 : plane;
    const uint32_t perInvocation = 2;  // amortizes the per-channel set-up (lavapipe: ~+5%)
    return {vec4, items, powerOfTwoAtMost(std::max(items / perInvocation, 1u), limit), perInvocation};
}


// A one-dimensional workgroup size: `wanted`, lowered to a power of two the device allows
// (Vulkan guarantees 128 invocations; SwiftShader has 256, most GPUs 1024).
inline uint32_t workgroupAtMost(const Device& device, uint32_t wanted) {
    const auto& l = device.info().limits;
    return powerOfTwoAtMost(wanted, std::min({wanted, l.maxComputeWorkGroupInvocations, l.maxComputeWorkGroupSize[0]}));
}

}  // namespace revnet::kernels
