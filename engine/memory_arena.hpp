// Device memory in large blocks, sub-allocated to tensors at the device's alignment, with every
// byte charged to the ledger by category. Staging memory for host transfers comes from a second,
// host-visible pool that is only used when device-local memory cannot be mapped (or when told to,
// so that the staging path can be tested on lavapipe).
#pragma once

#include "engine/block_suballocator.hpp"
#include "engine/device.hpp"
#include "engine/memory_ledger.hpp"

#include <vulkan/vulkan.h>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace revnet {

struct ArenaOptions {
    VkDeviceSize blockSize = VkDeviceSize{256} << 20;
    bool forceStaging = false;  // treat device memory as unmappable even where it is mappable
};

class MemoryArena;

// A range of one block's buffer, returned to the arena when destroyed.
class Allocation {
public:
    Allocation() = default;
    Allocation(Allocation&& other) noexcept { *this = std::move(other); }
    Allocation& operator=(Allocation&& other) noexcept;
    Allocation(const Allocation&) = delete;
    Allocation& operator=(const Allocation&) = delete;
    ~Allocation() { reset(); }

    VkBuffer buffer() const { return buffer_; }
    VkDeviceSize offset() const { return offset_; }
    VkDeviceSize size() const { return size_; }
    Category category() const { return category_; }
    // Host pointer to the first byte, or nullptr when the memory is not mapped.
    std::byte* mapped() const { return mapped_; }
    explicit operator bool() const { return arena_ != nullptr; }
    void reset();

private:
    friend class MemoryArena;
    MemoryArena* arena_ = nullptr;
    std::size_t pool_ = 0, block_ = 0;
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceSize offset_ = 0, size_ = 0;
    Category category_ = Category::Other;
    std::byte* mapped_ = nullptr;
};

class MemoryArena {
public:
    MemoryArena(const Device& device, ArenaOptions options);
    ~MemoryArena();
    MemoryArena(const MemoryArena&) = delete;
    MemoryArena& operator=(const MemoryArena&) = delete;

    // Device memory for tensors. `what` names the request in errors.
    Allocation allocate(VkDeviceSize bytes, Category category, std::string_view what);
    // Host-visible memory for transfers, charged as staging.
    Allocation allocateStaging(VkDeviceSize bytes, std::string_view what);

    bool needsStaging() const { return needsStaging_; }
    VkDeviceSize alignment() const { return alignment_; }
    // Bytes charged for a request of `bytes`: what the ledger counts, for planners to reproduce.
    VkDeviceSize chargedSize(VkDeviceSize bytes) const;

    MemoryLedger& ledger() { return ledger_; }
    const MemoryLedger& ledger() const { return ledger_; }
    // Device memory held in blocks, used or not.
    VkDeviceSize reservedBytes() const;
    // Returns blocks with nothing in them to the driver.
    void trim();

    // Make host writes visible to the device, and device writes to the host, on memory that is
    // not host-coherent; nothing to do on coherent memory.
    void flush(const Allocation& allocation) const;
    void invalidate(const Allocation& allocation) const;

private:
    friend class Allocation;
    struct Block;
    struct Pool {
        uint32_t memoryType = 0;
        bool mapped = false;
        bool coherent = true;
        std::vector<std::unique_ptr<Block>> blocks;
    };

    Allocation allocateIn(std::size_t pool, VkDeviceSize bytes, Category category, std::string_view what);
    std::size_t addBlock(std::size_t pool, VkDeviceSize bytes, Category category, std::string_view what);
    void release(const Allocation& allocation);
    void syncRange(const Allocation& allocation, bool flush) const;

    const Device& device_;
    ArenaOptions options_;
    VkDeviceSize alignment_ = 16;
    bool needsStaging_ = false;
    MemoryLedger ledger_;
    std::vector<Pool> pools_;  // [0] device memory for tensors, [1] host memory for staging
};

}  // namespace revnet
