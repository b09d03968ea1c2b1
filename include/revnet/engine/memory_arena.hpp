// Device memory in large blocks, sub-allocated to tensors at the device's alignment, with every
// byte charged to the ledger by category. Host transfers go through two more pools: upload
// staging (host writes, device reads) and readback (device writes, host reads). Each pool's
// memory types come from chooseMemoryTypes(), best first; when the driver refuses a block for
// lack of memory, the next type is tried. Tensors are mapped only where their memory type is
// host-visible and staging is not forced (so that the staging path can be tested on lavapipe).
#pragma once

#include "revnet/engine/block_suballocator.hpp"
#include "revnet/engine/device.hpp"
#include "revnet/engine/memory_ledger.hpp"
#include "revnet/engine/memory_types.hpp"

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
    // Host-visible memory the host writes for the device to read, charged as staging.
    Allocation allocateStaging(VkDeviceSize bytes, std::string_view what);
    // Host-visible memory the device writes for the host to read, charged as staging.
    Allocation allocateReadback(VkDeviceSize bytes, std::string_view what);

    // Whether tensors are copied through staging rather than mapped (for the best memory type).
    bool needsStaging() const { return needsStaging_; }
    // The memory types of each use, best first, and why the first.
    const MemoryChoice& choice(MemoryUse use) const;
    VkDeviceSize alignment() const { return alignment_; }
    // Bytes charged for a request of `bytes`: what the ledger counts, for planners to reproduce.
    VkDeviceSize chargedSize(VkDeviceSize bytes) const;

    MemoryLedger& ledger() { return ledger_; }
    const MemoryLedger& ledger() const { return ledger_; }
    // Device memory held in blocks, used or not: in all, or for one use.
    VkDeviceSize reservedBytes() const;
    VkDeviceSize reservedBytes(MemoryUse use) const;
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
        MemoryChoice choice;
        bool map = false;  // map the blocks whose type is host-visible
        std::vector<std::unique_ptr<Block>> blocks;
    };

    Allocation allocateIn(std::size_t pool, VkDeviceSize bytes, Category category, std::string_view what);
    std::size_t addBlock(std::size_t pool, VkDeviceSize bytes, Category category, std::string_view what);
    std::unique_ptr<Block> createBlock(uint32_t type, bool map, VkDeviceSize bytes, const std::string& context);
    void release(const Allocation& allocation);
    void syncRange(const Allocation& allocation, bool flush) const;

    const Device& device_;
    ArenaOptions options_;
    VkDeviceSize alignment_ = 16;
    bool needsStaging_ = false;
    MemoryLedger ledger_;
    MemoryLayout layout_;
    std::vector<Pool> pools_;  // indexed by MemoryUse
};

}  // namespace revnet
