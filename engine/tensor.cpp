#include "engine/tensor.hpp"

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
    if (a.buffer != b.buffer || a.rowBytes == 0 || b.rowBytes == 0) return false;
    if (a.end() <= b.first || b.end() <= a.first) return false;
    // Rows of equal period: disjoint when their places within one period never meet.
    if (a.rows > 1 && b.rows > 1 && a.rowStride == b.rowStride && a.rowBytes <= a.rowStride &&
        b.rowBytes <= b.rowStride) {
        const std::uint64_t period = a.rowStride;
        const std::uint64_t pa = a.first % period, pb = b.first % period;
        auto meets = [&](std::uint64_t from, std::uint64_t length, std::uint64_t point, std::uint64_t pointLength) {
            // [point, point+pointLength) against [from, from+length) on a circle of `period`.
            const std::uint64_t delta = (point + period - from) % period;
            return delta < length || (period - delta) < pointLength;
        };
        return meets(pa, a.rowBytes, pb, b.rowBytes);
    }
    return true;
}

TensorView::TensorView(VkBuffer buffer, VkDeviceSize base, VkDeviceSize baseBytes, std::uint64_t offset,
                       Shape shape, Strides strides)
    : buffer_(buffer), base_(base), baseBytes_(baseBytes), offset_(offset), shape_(shape), strides_(strides) {}

TensorView TensorView::channels(uint32_t first, uint32_t count) const {
    if (first + count > shape_.c)
        throw std::out_of_range("channels " + std::to_string(first) + "+" + std::to_string(count) +
                                " of a tensor with " + std::to_string(shape_.c));
    TensorView v = *this;
    v.offset_ += first * strides_[1];
    v.shape_.c = count;
    return v;
}

TensorView TensorView::batch(uint32_t first, uint32_t count) const {
    if (first + count > shape_.n)
        throw std::out_of_range("samples " + std::to_string(first) + "+" + std::to_string(count) +
                                " of a batch of " + std::to_string(shape_.n));
    TensorView v = *this;
    v.offset_ += first * strides_[0];
    v.shape_.n = count;
    return v;
}

bool TensorView::samplesContiguous() const {
    const Strides dense = denseStrides(shape_);
    return strides_[3] == 1 && (shape_.h == 1 || strides_[2] == dense[2]) &&
           (shape_.c == 1 || strides_[1] == dense[1]);
}

bool TensorView::contiguous() const {
    return samplesContiguous() && (shape_.n == 1 || strides_[0] == denseStrides(shape_)[0]);
}

BufferRegion TensorView::region() const {
    BufferRegion r;
    r.buffer = buffer_;
    r.first = base_ + offset_ * sizeof(float);
    if (shape_.elements() == 0) return r;
    if (samplesContiguous()) {
        r.rowBytes = std::uint64_t{shape_.c} * shape_.h * shape_.w * sizeof(float);
        r.rowStride = shape_.n > 1 ? strides_[0] * sizeof(float) : r.rowBytes;
        r.rows = shape_.n;
    } else {  // the hull of every element
        const std::uint64_t last = (shape_.n - 1) * strides_[0] + (shape_.c - 1) * strides_[1] +
                                   (shape_.h - 1) * strides_[2] + (shape_.w - 1) * strides_[3];
        r.rowBytes = (last + 1) * sizeof(float);
        r.rowStride = r.rowBytes;
    }
    return r;
}

Tensor::Tensor(Allocation allocation, Shape shape, std::string name)
    : allocation_(std::move(allocation)), shape_(shape), name_(std::move(name)) {
    if (allocation_.size() < bytes())
        throw std::logic_error("tensor " + name_ + " is larger than its allocation");
}

TensorView Tensor::view() const {
    return TensorView(allocation_.buffer(), allocation_.offset(), allocation_.size(), 0, shape_,
                      denseStrides(shape_));
}

}  // namespace revnet
