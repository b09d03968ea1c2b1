#include "revnet/engine/block_suballocator.hpp"

#include <iterator>
#include <stdexcept>

namespace revnet {

BlockSuballocator::BlockSuballocator(std::uint64_t size) : size_(size) { free_[0] = size; }

std::optional<std::uint64_t> BlockSuballocator::allocate(std::uint64_t size, std::uint64_t alignment) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
        const std::uint64_t start = it->first, end = it->first + it->second;
        const std::uint64_t aligned = (start + alignment - 1) / alignment * alignment;
        if (aligned + size > end) continue;
        free_.erase(it);
        if (aligned > start) free_[start] = aligned - start;
        if (aligned + size < end) free_[aligned + size] = end - aligned - size;
        used_ += size;
        return aligned;
    }
    return std::nullopt;
}

void BlockSuballocator::release(std::uint64_t offset, std::uint64_t size) {
    if (size > used_ || offset + size > size_) throw std::logic_error("block suballocator: bad release");
    used_ -= size;
    auto next = free_.lower_bound(offset);
    if (next != free_.end() && next->first < offset + size)
        throw std::logic_error("block suballocator: double release");
    std::uint64_t start = offset, length = size;
    if (next != free_.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second > offset) throw std::logic_error("block suballocator: double release");
        if (prev->first + prev->second == offset) {
            start = prev->first;
            length += prev->second;
            free_.erase(prev);
        }
    }
    if (next != free_.end() && next->first == offset + size) {
        length += next->second;
        free_.erase(next);
    }
    free_[start] = length;
}

}  // namespace revnet
