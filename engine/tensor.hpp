// float32 NCHW tensors in arena memory, and views into them. A view has an element offset and
// strides, so that the channel halves x1, x2 of a RevNet unit are views of one tensor: splitting
// and joining copies nothing.
#pragma once

#include "engine/memory_arena.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace revnet {

struct Shape {
    uint32_t n = 1, c = 1, h = 1, w = 1;
    std::uint64_t elements() const { return std::uint64_t{n} * c * h * w; }
    bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
    bool operator!=(const Shape& o) const { return !(*this == o); }
};
std::string toString(const Shape& shape);  // "3x17x9x9"

// Strides in elements for the n, c, h, w axes.
using Strides = std::array<std::uint64_t, 4>;
Strides denseStrides(const Shape& shape);

// The bytes a view's elements lie within, for binding and for hazard tracking: `rows` runs of
// `rowBytes` each, `rowStride` apart, starting at `first` (bytes from the buffer's start).
struct BufferRegion {
    VkBuffer buffer = VK_NULL_HANDLE;
    std::uint64_t first = 0, rowBytes = 0, rowStride = 0, rows = 1;
    std::uint64_t end() const { return first + (rows - 1) * rowStride + rowBytes; }
};
bool overlaps(const BufferRegion& a, const BufferRegion& b);

class TensorView {
public:
    TensorView() = default;
    TensorView(VkBuffer buffer, VkDeviceSize base, VkDeviceSize baseBytes, std::uint64_t offset, Shape shape,
               Strides strides);

    const Shape& shape() const { return shape_; }
    const Strides& strides() const { return strides_; }
    // Element offset of (0,0,0,0) from the start of the underlying binding.
    std::uint64_t offset() const { return offset_; }

    // The buffer range a shader binds for this view: the whole tensor's allocation, so that views
    // of one tensor share descriptor ranges and offsets stay in elements.
    VkBuffer buffer() const { return buffer_; }
    VkDeviceSize bindingOffset() const { return base_; }
    VkDeviceSize bindingBytes() const { return baseBytes_; }

    TensorView channels(uint32_t first, uint32_t count) const;
    TensorView batch(uint32_t first, uint32_t count) const;

    // c, h and w dense: each sample is one contiguous run (true of channel ranges of a dense tensor).
    bool samplesContiguous() const;
    bool contiguous() const;
    BufferRegion region() const;

private:
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceSize base_ = 0, baseBytes_ = 0;
    std::uint64_t offset_ = 0;
    Shape shape_;
    Strides strides_{};
};

class Tensor {
public:
    Tensor() = default;
    Tensor(Allocation allocation, Shape shape, std::string name);

    const Shape& shape() const { return shape_; }
    const std::string& name() const { return name_; }
    std::uint64_t bytes() const { return shape_.elements() * sizeof(float); }
    const Allocation& allocation() const { return allocation_; }
    TensorView view() const;
    operator TensorView() const { return view(); }

private:
    Allocation allocation_;
    Shape shape_;
    std::string name_;
};

}  // namespace revnet
