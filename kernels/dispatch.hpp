// Small helpers the kernels' host code shares: grid sizes within the device's limits, and the
// per-channel view description of channels.glsl.
#pragma once

#include "engine/device.hpp"
#include "engine/tensor.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace revnet::kernels {

inline uint32_t ceilDiv(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

// Workgroups for `items` invocations in groups of `size`, capped by the device (shaders loop).
inline uint32_t groupsFor(const Device& device, uint64_t items, uint32_t size, int axis = 0) {
    return std::clamp<uint32_t>(ceilDiv(std::max<uint64_t>(items, 1), size), 1,
                                device.info().limits.maxComputeWorkGroupCount[axis]);
}

// A grid for the per-channel elementwise shaders: x covers a plane, y the (sample, channel) rows.
inline std::array<uint32_t, 3> planeGrid(const Device& device, uint64_t plane, uint64_t rows, uint32_t size) {
    return {groupsFor(device, plane, size, 0), groupsFor(device, rows, 1, 1), 1};
}

// channels.glsl's View: where sample 0 starts and the distance between samples, in elements.
struct ChannelView {
    uint32_t offset, sampleStride;
};

inline ChannelView channelView(const TensorView& v, const char* kernel) {
    if (!v.samplesContiguous())
        throw std::invalid_argument(std::string(kernel) + ": a view must keep each sample contiguous");
    return {static_cast<uint32_t>(v.offset()), static_cast<uint32_t>(v.strides()[0])};
}

inline void requireShape(const TensorView& v, const Shape& shape, const char* kernel, const char* what) {
    if (v.shape() != shape)
        throw std::invalid_argument(std::string(kernel) + ": " + what + " is " + toString(v.shape()) + ", expected " +
                                    toString(shape));
}

// Dense views of `count` elements (parameters, statistics, labels): the element offset.
inline uint32_t denseOffset(const TensorView& v, uint64_t count, const char* kernel, const char* what) {
    if (v.shape().elements() != count || !v.samplesContiguous())
        throw std::invalid_argument(std::string(kernel) + ": " + what + " must be " + std::to_string(count) +
                                    " contiguous elements, got " + toString(v.shape()));
    return static_cast<uint32_t>(v.offset());
}

// A power of two no larger than `limit` nor than `items` (at least 1): reduction workgroups.
inline uint32_t powerOfTwoAtMost(uint64_t items, uint32_t limit) {
    uint32_t size = 1;
    while (size * 2 <= limit && size * 2 <= items) size *= 2;
    return size;
}

}  // namespace revnet::kernels
