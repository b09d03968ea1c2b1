#include "revnet/engine/tensor.hpp"

#include <stdexcept>

namespace revnet {

std::string toString(const Shape& s) {
    return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

Strides denseStrides(const Shape& s) {
    const std::uint64_t w = 1, h = s.w, c = h * s.h, n = c * s.c;
    return {n, c, h, w};
}

bool overlaps(const BufferRegion& a, const BufferRegion& b) {
    return a.buffer == b.buffer && a.bytes && b.bytes && a.offset < b.end() && b.offset < a.end();
}

TensorView::TensorView(VkBuffer buffer, VkDeviceSize start, VkDeviceSize alignment, Shape shape, Strides strides)
    : buffer_(buffer), start_(start), alignment_(alignment), shape_(shape), strides_(strides) {}

TensorView TensorView::slice(int axis, uint32_t first, uint32_t count, const char* what) const {
    const uint32_t extent = axis == 0 ? shape_.n : shape_.c;
    if (first + count > extent)
        throw std::out_of_range(std::string(what) + " " + std::to_string(first) + "+" + std::to_string(count) +
                                " of " + std::to_string(extent) + " in a " + toString(shape_) + " view");
    TensorView v = *this;
    v.start_ += first * strides_[axis] * sizeof(float);
    (axis == 0 ? v.shape_.n : v.shape_.c) = count;
    return v;
}

TensorView TensorView::channels(uint32_t first, uint32_t count) const { return slice(1, first, count, "channels"); }
TensorView TensorView::batch(uint32_t first, uint32_t count) const { return slice(0, first, count, "samples"); }

TensorView TensorView::range(uint64_t first, uint64_t count) const {
    if (shape_.n != 1 || shape_.c != 1 || shape_.h != 1 || first + count > shape_.w)
        throw std::out_of_range("elements " + std::to_string(first) + "+" + std::to_string(count) + " of a " +
                                toString(shape_) + " view: it must be flat and that long");
    TensorView v = *this;
    v.start_ += first * strides_[3] * sizeof(float);
    v.shape_.w = static_cast<uint32_t>(count);
    return v;
}

bool TensorView::samplesContiguous() const {
    const Strides dense = denseStrides(shape_);
    return strides_[3] == 1 && (shape_.h == 1 || strides_[2] == dense[2]) &&
           (shape_.c == 1 || strides_[1] == dense[1]);
}

BufferRegion TensorView::denseRegion() const {
    const Strides dense = denseStrides(shape_);
    const uint32_t extent[4] = {shape_.n, shape_.c, shape_.h, shape_.w};
    for (int axis = 0; axis < 4; ++axis)  // an axis of one element has any stride
        if (extent[axis] > 1 && strides_[axis] != dense[axis])
            throw std::invalid_argument("a " + toString(shape_) + " view that is not dense");
    return {buffer_, start_, shape_.elements() * sizeof(float)};
}

VkDeviceSize TensorView::bindingStart() const { return start_ / alignment_ * alignment_; }

std::uint64_t TensorView::offset() const { return (start_ - bindingStart()) / sizeof(float); }

BufferRegion TensorView::binding() const {
    std::uint64_t last = 0;  // the element farthest from (0,0,0,0)
    const uint32_t extent[4] = {shape_.n, shape_.c, shape_.h, shape_.w};
    for (int axis = 0; axis < 4; ++axis) last += (extent[axis] ? extent[axis] - 1 : 0) * strides_[axis];
    const std::uint64_t end = start_ + (shape_.elements() ? (last + 1) * sizeof(float) : 0);
    return {buffer_, bindingStart(), end - bindingStart()};
}

Tensor::Tensor(Allocation allocation, VkDeviceSize alignment, Shape shape, std::string name)
    : allocation_(std::move(allocation)), alignment_(alignment), shape_(shape), name_(std::move(name)) {
    if (allocation_.size() < bytes())
        throw std::logic_error("tensor " + name_ + " is larger than its allocation");
}

TensorView Tensor::view() const {
    return TensorView(allocation_.buffer(), allocation_.offset(), alignment_, shape_, denseStrides(shape_));
}

TensorView Tensor::view(Shape shape, std::uint64_t first) const {
    if (first + shape.elements() > shape_.elements())
        throw std::out_of_range("a " + toString(shape) + " view at element " + std::to_string(first) + " of tensor " +
                                name_ + " (" + toString(shape_) + ") runs past its end");
    return TensorView(allocation_.buffer(), allocation_.offset() + first * sizeof(float), alignment_, shape,
                      denseStrides(shape));
}

}  // namespace revnet
