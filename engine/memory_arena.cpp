#include "revnet/engine/memory_arena.hpp"

#include "engine/vulkan_error.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace revnet {

namespace {

constexpr VkBufferUsageFlags kBufferUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                            VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
                                            VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                            VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_DST_BIT;

VkDeviceSize roundUp(VkDeviceSize value, VkDeviceSize multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

std::size_t poolOf(MemoryUse use) { return static_cast<std::size_t>(use); }

bool outOfMemory(VkResult result) {
    return result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY;
}

std::string mibText(VkDeviceSize bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

struct MemoryArena::Block {
    UniqueHandle<VkDeviceMemory> memory;
    UniqueHandle<VkBuffer> buffer;
    uint32_t memoryType = 0;
    bool coherent = true;
    std::byte* mapped = nullptr;
    BlockSuballocator ranges;
    explicit Block(VkDeviceSize size) : ranges(size) {}
};

Allocation& Allocation::operator=(Allocation&& other) noexcept {
    if (this != &other) {
        reset();
        arena_ = std::exchange(other.arena_, nullptr);
        pool_ = other.pool_;
        block_ = other.block_;
        buffer_ = other.buffer_;
        offset_ = other.offset_;
        size_ = other.size_;
        category_ = other.category_;
        mapped_ = other.mapped_;
    }
    return *this;
}

void Allocation::reset() {
    if (arena_) arena_->release(*this);
    arena_ = nullptr;
}

MemoryArena::MemoryArena(const Device& device, ArenaOptions options) : device_(device), options_(options) {
    const auto& limits = device.info().limits;
    alignment_ = std::max<VkDeviceSize>({16, limits.minStorageBufferOffsetAlignment,
                                         limits.minUniformBufferOffsetAlignment,
                                         limits.minTexelBufferOffsetAlignment});

    // Probe which memory types a buffer of our usage may live in.
    VkBufferCreateInfo probeInfo{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    probeInfo.size = alignment_;
    probeInfo.usage = kBufferUsage;
    VkBuffer probe = VK_NULL_HANDLE;
    check(vkCreateBuffer(device.handle(), &probeInfo, nullptr, &probe), "vkCreateBuffer", "memory type probe");
    VkMemoryRequirements requirements{};
    vkGetBufferMemoryRequirements(device.handle(), probe, &requirements);
    vkDestroyBuffer(device.handle(), probe, nullptr);

    VkPhysicalDeviceMemoryProperties memory{};
    vkGetPhysicalDeviceMemoryProperties(device.physical(), &memory);
    layout_ = MemoryLayout::of(memory);
    for (MemoryUse use : {MemoryUse::Tensors, MemoryUse::Upload, MemoryUse::Readback}) {
        Pool pool;
        pool.choice = chooseMemoryTypes(layout_, requirements.memoryTypeBits, use);
        if (pool.choice.candidates.empty())
            throw std::runtime_error("device " + device.info().name + " offers no memory type for " +
                                     memoryUseName(use) + " storage buffers");
        pool.map = use != MemoryUse::Tensors || !options.forceStaging;
        pools_.push_back(std::move(pool));
    }
    const auto hostVisible = [&](uint32_t type) { return layout_.types[type].flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT; };
    needsStaging_ = options.forceStaging || !hostVisible(choice(MemoryUse::Tensors).candidates.front());
    // Flushes and invalidations of non-coherent memory work in whole atoms.
    for (const Pool& pool : pools_)
        for (uint32_t type : pool.choice.candidates)
            if (hostVisible(type) && !(layout_.types[type].flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT))
                alignment_ = std::max(alignment_, device.info().limits.nonCoherentAtomSize);
}

MemoryArena::~MemoryArena() = default;

VkDeviceSize MemoryArena::chargedSize(VkDeviceSize bytes) const { return roundUp(std::max<VkDeviceSize>(bytes, 1), alignment_); }

Allocation MemoryArena::allocate(VkDeviceSize bytes, Category category, std::string_view what) {
    return allocateIn(poolOf(MemoryUse::Tensors), bytes, category, what);
}

Allocation MemoryArena::allocateStaging(VkDeviceSize bytes, std::string_view what) {
    return allocateIn(poolOf(MemoryUse::Upload), bytes, Category::Staging, what);
}

Allocation MemoryArena::allocateReadback(VkDeviceSize bytes, std::string_view what) {
    return allocateIn(poolOf(MemoryUse::Readback), bytes, Category::Staging, what);
}

const MemoryChoice& MemoryArena::choice(MemoryUse use) const { return pools_[poolOf(use)].choice; }

Allocation MemoryArena::allocateIn(std::size_t poolIndex, VkDeviceSize bytes, Category category,
                                   std::string_view what) {
    const VkDeviceSize size = chargedSize(bytes);
    ledger_.charge(category, size, what);  // throws, touching nothing, when over budget
    try {
        Pool& pool = pools_[poolIndex];
        std::optional<VkDeviceSize> offset;
        std::size_t b = 0;
        for (; b < pool.blocks.size() && !offset; ++b)
            if (pool.blocks[b]) offset = pool.blocks[b]->ranges.allocate(size, alignment_);
        if (offset) {
            --b;
        } else {
            b = addBlock(poolIndex, size, category, what);
            offset = pool.blocks[b]->ranges.allocate(size, alignment_);
        }
        Allocation a;
        a.arena_ = this;
        a.pool_ = poolIndex;
        a.block_ = b;
        a.buffer_ = pool.blocks[b]->buffer.get();
        a.offset_ = *offset;
        a.size_ = size;
        a.category_ = category;
        a.mapped_ = pool.blocks[b]->mapped ? pool.blocks[b]->mapped + *offset : nullptr;
        return a;
    } catch (...) {
        ledger_.release(category, size);
        throw;
    }
}

std::size_t MemoryArena::addBlock(std::size_t poolIndex, VkDeviceSize size, Category category,
                                  std::string_view what) {
    const VkDeviceSize maxBlock = device_.info().maxMemoryAllocationSize;
    if (size > maxBlock)
        throw std::runtime_error(std::string(what) + " needs " + formatBytes(size) +
                                 " in one piece, more than the device's maxMemoryAllocationSize of " +
                                 formatBytes(maxBlock));
    VkDeviceSize blockSize = std::min(options_.blockSize, maxBlock);
    if (auto budget = ledger_.budget()) {  // don't reserve far past what the budget allows
        const VkDeviceSize room = *budget > reservedBytes() ? *budget - reservedBytes() : 0;
        blockSize = std::min(blockSize, roundUp(std::max<VkDeviceSize>(room, 1), alignment_));
    }
    blockSize = std::max(blockSize, size);
    const std::string context = "block of " + mibText(blockSize) + " for " + std::string(what) +
                                ", category " + categoryName(category);

    Pool& pool = pools_[poolIndex];
    std::unique_ptr<Block> block;
    std::string tried;
    allocateFromCandidates(layout_, pool.choice.candidates, size, [&](uint32_t type) {
        // A block no bigger than its heap, though never smaller than the request.
        const VkDeviceSize bytes = std::max(size, std::min(blockSize, layout_.heaps[layout_.types[type].heap].size));
        block = createBlock(type, pool.map, bytes, context);
        tried += (tried.empty() ? "" : ", ") + std::to_string(type);
        return block != nullptr;
    });
    if (!block)
        throw VulkanError(VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory",
                          context + ": the device is out of memory (memory types tried: " +
                              (tried.empty() ? std::string("none, every heap is smaller") : tried) + ")");

    // Reuse a slot that trim() emptied, so that live allocations keep their block index.
    for (std::size_t b = 0; b < pool.blocks.size(); ++b)
        if (!pool.blocks[b]) {
            pool.blocks[b] = std::move(block);
            return b;
        }
    pool.blocks.push_back(std::move(block));
    return pool.blocks.size() - 1;
}

// nullptr when the driver is out of memory for this type; throws on any other failure.
std::unique_ptr<MemoryArena::Block> MemoryArena::createBlock(uint32_t type, bool map, VkDeviceSize bytes,
                                                             const std::string& context) {
    VkDevice device = device_.handle();
    auto block = std::make_unique<Block>(bytes);
    VkBufferCreateInfo bufferInfo{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bufferInfo.size = bytes;
    bufferInfo.usage = kBufferUsage;
    VkBuffer buffer = VK_NULL_HANDLE;
    check(vkCreateBuffer(device, &bufferInfo, nullptr, &buffer), "vkCreateBuffer", context);
    block->buffer = UniqueHandle<VkBuffer>(buffer, [device](VkBuffer b) { vkDestroyBuffer(device, b, nullptr); });
    VkMemoryRequirements requirements{};
    vkGetBufferMemoryRequirements(device, buffer, &requirements);
    if (!(requirements.memoryTypeBits & (1u << type))) return nullptr;

    VkMemoryAllocateInfo allocInfo{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    allocInfo.allocationSize = requirements.size;
    allocInfo.memoryTypeIndex = type;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    const VkResult result = vkAllocateMemory(device, &allocInfo, nullptr, &memory);
    if (outOfMemory(result)) return nullptr;
    check(result, "vkAllocateMemory", context);
    block->memory = UniqueHandle<VkDeviceMemory>(memory, [device](VkDeviceMemory m) { vkFreeMemory(device, m, nullptr); });
    check(vkBindBufferMemory(device, buffer, memory, 0), "vkBindBufferMemory", context);
    const VkMemoryPropertyFlags flags = layout_.types[type].flags;
    block->memoryType = type;
    block->coherent = flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    if (map && (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        void* pointer = nullptr;
        check(vkMapMemory(device, memory, 0, VK_WHOLE_SIZE, 0, &pointer), "vkMapMemory", context);
        block->mapped = static_cast<std::byte*>(pointer);
    }
    return block;
}

void MemoryArena::release(const Allocation& a) {
    pools_[a.pool_].blocks[a.block_]->ranges.release(a.offset_, a.size_);
    ledger_.release(a.category_, a.size_);
}

VkDeviceSize MemoryArena::reservedBytes() const {
    VkDeviceSize total = 0;
    for (MemoryUse use : {MemoryUse::Tensors, MemoryUse::Upload, MemoryUse::Readback}) total += reservedBytes(use);
    return total;
}

VkDeviceSize MemoryArena::reservedBytes(MemoryUse use) const {
    VkDeviceSize total = 0;
    for (const auto& block : pools_[poolOf(use)].blocks)
        if (block) total += block->ranges.size();
    return total;
}

void MemoryArena::trim() {
    for (auto& pool : pools_)
        for (auto& block : pool.blocks)
            if (block && block->ranges.empty()) block.reset();
}

void MemoryArena::syncRange(const Allocation& a, bool flush) const {
    const Block& block = *pools_[a.pool_].blocks[a.block_];
    if (block.coherent || !a.mapped()) return;
    const VkDeviceSize atom = device_.info().limits.nonCoherentAtomSize;
    VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
    range.memory = block.memory.get();
    range.offset = a.offset_ / atom * atom;
    range.size = std::min(roundUp(a.offset_ + a.size_, atom), block.ranges.size()) - range.offset;
    if (flush)
        check(vkFlushMappedMemoryRanges(device_.handle(), 1, &range), "vkFlushMappedMemoryRanges");
    else
        check(vkInvalidateMappedMemoryRanges(device_.handle(), 1, &range), "vkInvalidateMappedMemoryRanges");
}

void MemoryArena::flush(const Allocation& a) const { syncRange(a, true); }
void MemoryArena::invalidate(const Allocation& a) const { syncRange(a, false); }

}  // namespace revnet
