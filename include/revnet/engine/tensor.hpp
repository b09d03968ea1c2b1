// float32 NCHW tensors in arena memory, and views into them. A view has an element offset and
// strides, so that the channel halves x1, x2 of a RevNet unit are views of one tensor: splitting
// and joining copies nothing.
#pragma once

#include "revnet/engine/memory_arena.hpp"

#include <vulkan/vulkan.h>

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

// A byte range of a buffer: what a descriptor binds, and what hazard tracking compares. The
// synchronization validator judges hazards by bound ranges, not by the elements a shader
// touches, so the engine does the same.
struct BufferRegion {
    VkBuffer buffer = VK_NULL_HANDLE;
    std::uint64_t offset = 0, bytes = 0;
    std::uint64_t end() const { return offset + bytes; }
};
bool overlaps(const BufferRegion& a, const BufferRegion& b);

class TensorView {
public:
    TensorView() = default;
    // `start` is the byte offset of element 0 in `buffer`; `alignment` the binding offset
    // alignment the device needs (the arena's).
    TensorView(VkBuffer buffer, VkDeviceSize start, VkDeviceSize alignment, Shape shape, Strides strides);

    const Shape& shape() const { return shape_; }
    const Strides& strides() const { return strides_; }

    // What a shader binds for this view: the aligned byte range holding its elements, and the
    // element offset of (0,0,0,0) within that range (a push constant).
    BufferRegion binding() const;
    std::uint64_t offset() const;

    TensorView channels(uint32_t first, uint32_t count) const;
    TensorView batch(uint32_t first, uint32_t count) const;
    // The first `count` elements of a flat view (1 x 1 x 1 x W): what a kernel binds of a
    // workspace it uses only part of.
    TensorView prefix(uint64_t count) const { return range(0, count); }
    // Elements [first, first + count) of a flat view: a part of it that fits one binding.
    TensorView range(uint64_t first, uint64_t count) const;

    // c, h and w dense: each sample is one contiguous run (true of channel ranges of a dense tensor).
    bool samplesContiguous() const;
    // The exact bytes of a dense view's elements (what a copy moves); throws if it is not dense.
    BufferRegion denseRegion() const;

private:
    VkDeviceSize bindingStart() const;
    TensorView slice(int axis, uint32_t first, uint32_t count, const char* what) const;

    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceSize start_ = 0, alignment_ = 4;
    Shape shape_;
    Strides strides_{};
};

class Tensor {
public:
    Tensor() = default;
    Tensor(Allocation allocation, VkDeviceSize alignment, Shape shape, std::string name);

    const Shape& shape() const { return shape_; }
    const std::string& name() const { return name_; }
    std::uint64_t bytes() const { return shape_.elements() * sizeof(float); }
    const Allocation& allocation() const { return allocation_; }
    TensorView view() const;
    operator TensorView() const { return view(); }
    // A dense view of `shape` starting at element `first`: tensors used as pools of smaller
    // ones (flat parameters, reused workspace).
    TensorView view(Shape shape, std::uint64_t first = 0) const;

private:
    Allocation allocation_;
    VkDeviceSize alignment_ = 4;
    Shape shape_;
    std::string name_;
};

}  // namespace revnet
