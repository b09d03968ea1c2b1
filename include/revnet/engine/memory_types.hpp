// Which Vulkan memory type each use of memory goes to, as a pure function of the device's heaps
// and types, so that it can be tested on recorded tables of real devices.
//
// Why it is not "the first type with the right flags": on discrete GPUs without Resizable BAR
// the device-local host-visible type lives in a 214-256 MiB BAR heap; tensors there fail on the
// first large allocation. Heap 0 is not always the big one either (RADV with ReBAR, APUs), and
// AMD's device-coherent/uncached types need a feature the engine does not enable.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace revnet {

struct MemoryHeapDesc {
    VkDeviceSize size = 0;
    VkMemoryHeapFlags flags = 0;
};

struct MemoryTypeDesc {
    VkMemoryPropertyFlags flags = 0;
    uint32_t heap = 0;
};

struct MemoryLayout {
    std::vector<MemoryHeapDesc> heaps;
    std::vector<MemoryTypeDesc> types;

    static MemoryLayout of(const VkPhysicalDeviceMemoryProperties& properties);
    // The device-local heap with the most bytes (its VRAM, or the unified memory), or -1.
    int largestDeviceLocalHeap() const;
};

enum class MemoryUse {
    Tensors,   // read and written by shaders; mapped only where that costs nothing
    Upload,    // written by the host sequentially, read by the device (staging, upload rings)
    Readback,  // written by the device, read by the host
};

const char* memoryUseName(MemoryUse use);

struct MemoryChoice {
    // Allowed types, best first: the arena tries the next when an allocation fails.
    std::vector<uint32_t> candidates;
    std::string why;  // one line on the first candidate, for `revnet devices`
};

// Candidates for `use` among the types in `allowedTypes` (a VkMemoryRequirements mask). Never returns a type that is protected, lazily allocated or AMD device-coherent/uncached, nor a
// host-visible device-local type on a heap smaller than the largest device-local heap (a BAR
// window) for tensors.
MemoryChoice chooseMemoryTypes(const MemoryLayout& layout, uint32_t allowedTypes, MemoryUse use);

// The first candidate whose heap can hold `bytes` and for which `tryAllocate` succeeds, or -1.
// `tryAllocate` returns false on an out-of-memory result (and throws on anything else).
int allocateFromCandidates(const MemoryLayout& layout, const std::vector<uint32_t>& candidates,
                           VkDeviceSize bytes, const std::function<bool(uint32_t type)>& tryAllocate);

// "DEVICE_LOCAL|HOST_VISIBLE" (or "none").
std::string memoryFlagsText(VkMemoryPropertyFlags flags);

}  // namespace revnet
