// First-fit sub-allocation of one memory block, with free ranges merged on release. Pure
// bookkeeping over offsets; the arena owns the Vulkan memory behind it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace revnet {

class BlockSuballocator {
public:
    explicit BlockSuballocator(std::uint64_t size);

    // `size` must already be rounded to the alignment every offset keeps.
    std::optional<std::uint64_t> allocate(std::uint64_t size, std::uint64_t alignment);
    void release(std::uint64_t offset, std::uint64_t size);

    std::uint64_t size() const { return size_; }
    std::uint64_t used() const { return used_; }
    bool empty() const { return used_ == 0; }

private:
    std::uint64_t size_;
    std::uint64_t used_ = 0;
    std::map<std::uint64_t, std::uint64_t> free_;  // offset -> size, never adjacent
};

}  // namespace revnet
