#include "revnet/engine/memory_types.hpp"

#include <algorithm>
#include <optional>
#include <tuple>

namespace revnet {

namespace {

constexpr VkMemoryPropertyFlags kLocal = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
constexpr VkMemoryPropertyFlags kVisible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
constexpr VkMemoryPropertyFlags kCoherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
constexpr VkMemoryPropertyFlags kCached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
// Types the engine never uses: protected and lazily allocated memory cannot back storage
// buffers we read back, and AMD's device-coherent/uncached types need the deviceCoherentMemory
// feature (VUID-vkAllocateMemory-deviceCoherentMemory-02790).
constexpr VkMemoryPropertyFlags kNever = VK_MEMORY_PROPERTY_PROTECTED_BIT | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT |
                                         VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD |
                                         VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD;

std::string mib(VkDeviceSize bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// How well a type serves a use: lower is better; nullopt = not at all.
using Rank = std::tuple<int, int, int, int>;

struct Judge {
    const MemoryLayout& layout;
    int largestLocal;

    bool has(uint32_t t, VkMemoryPropertyFlags f) const { return (layout.types[t].flags & f) == f; }
    // A device-local host-visible type on a smaller heap than the device's memory: a BAR window.
    bool inBarWindow(uint32_t t) const {
        return has(t, kLocal | kVisible) && static_cast<int>(layout.types[t].heap) != largestLocal &&
               (largestLocal < 0 || layout.heaps[layout.types[t].heap].size < layout.heaps[largestLocal].size);
    }
    bool onLargestLocal(uint32_t t) const { return static_cast<int>(layout.types[t].heap) == largestLocal; }

    std::optional<Rank> rank(uint32_t t, MemoryUse use) const {
        const bool local = has(t, kLocal), visible = has(t, kVisible), coherent = has(t, kCoherent),
                   cached = has(t, kCached);
        switch (use) {
            case MemoryUse::Tensors:
                if (inBarWindow(t)) return std::nullopt;
                if (local && !visible && onLargestLocal(t)) return Rank{0, 0, 0, 0};
                if (local && onLargestLocal(t)) return Rank{1, 0, 0, 0};
                if (local) return Rank{2, visible, 0, 0};
                if (visible) return Rank{3, !coherent, 0, 0};  // system memory, over the bus
                return std::nullopt;
            case MemoryUse::Upload:
                if (!visible) return std::nullopt;
                return Rank{inBarWindow(t), local, !coherent, cached};  // write-combined is fine
            case MemoryUse::Readback:
                if (!visible) return std::nullopt;
                return Rank{inBarWindow(t), !cached, local, !coherent};  // uncached reads crawl
        }
        return std::nullopt;
    }
};

std::string describeFirst(const MemoryLayout& layout, const Judge& judge, uint32_t t, MemoryUse use) {
    const auto& type = layout.types[t];
    std::string out = "type " + std::to_string(t) + " (" + memoryFlagsText(type.flags) + ") on heap " +
                      std::to_string(type.heap) + " (" + mib(layout.heaps[type.heap].size) + ")";
    const bool local = judge.has(t, kLocal), visible = judge.has(t, kVisible);
    switch (use) {
        case MemoryUse::Tensors:
            if (local && judge.onLargestLocal(t))
                out += visible ? ": the device's memory is host-visible, tensors are mapped"
                               : ": the largest device-local heap";
            else out += local ? ": not the largest device-local heap" : ": system memory, read over the bus";
            break;
        case MemoryUse::Upload:
            out += local ? ": device-local and host-visible (unified memory)" : ": system memory the device reads";
            break;
        case MemoryUse::Readback:
            out += judge.has(t, kCached) ? ": host-cached, fast to read" : ": not host-cached, slow to read";
            break;
    }
    return out;
}

}  // namespace

MemoryLayout MemoryLayout::of(const VkPhysicalDeviceMemoryProperties& p) {
    MemoryLayout layout;
    for (uint32_t h = 0; h < p.memoryHeapCount; ++h) layout.heaps.push_back({p.memoryHeaps[h].size, p.memoryHeaps[h].flags});
    for (uint32_t t = 0; t < p.memoryTypeCount; ++t)
        layout.types.push_back({p.memoryTypes[t].propertyFlags, p.memoryTypes[t].heapIndex});
    return layout;
}

int MemoryLayout::largestDeviceLocalHeap() const {
    int best = -1;
    for (std::size_t h = 0; h < heaps.size(); ++h)
        if ((heaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && (best < 0 || heaps[h].size > heaps[best].size))
            best = static_cast<int>(h);
    return best;
}

const char* memoryUseName(MemoryUse use) {
    switch (use) {
        case MemoryUse::Tensors: return "tensors";
        case MemoryUse::Upload: return "upload";
        case MemoryUse::Readback: return "readback";
    }
    return "?";
}

MemoryChoice chooseMemoryTypes(const MemoryLayout& layout, uint32_t allowedTypes, MemoryUse use) {
    const Judge judge{layout, layout.largestDeviceLocalHeap()};
    std::vector<std::pair<Rank, uint32_t>> ranked;
    for (uint32_t t = 0; t < layout.types.size() && t < 32; ++t) {
        if (!(allowedTypes & (1u << t)) || (layout.types[t].flags & kNever)) continue;
        if (auto rank = judge.rank(t, use)) ranked.push_back({*rank, t});
    }
    // Within a rank, the bigger heap, then the lower index (drivers list their preferred first).
    std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first < b.first;
        return layout.heaps[layout.types[a.second].heap].size > layout.heaps[layout.types[b.second].heap].size;
    });
    MemoryChoice choice;
    for (const auto& [rank, t] : ranked) choice.candidates.push_back(t);
    choice.why = choice.candidates.empty() ? std::string("no suitable memory type")
                                           : describeFirst(layout, judge, choice.candidates.front(), use);
    return choice;
}

int allocateFromCandidates(const MemoryLayout& layout, const std::vector<uint32_t>& candidates, VkDeviceSize bytes,
                           const std::function<bool(uint32_t type)>& tryAllocate) {
    for (uint32_t t : candidates) {
        if (layout.heaps[layout.types[t].heap].size < bytes) continue;  // VUID-vkAllocateMemory-pAllocateInfo-01713
        if (tryAllocate(t)) return static_cast<int>(t);
    }
    return -1;
}

std::string memoryFlagsText(VkMemoryPropertyFlags flags) {
    static constexpr std::pair<VkMemoryPropertyFlags, const char*> names[] = {
        {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, "DEVICE_LOCAL"},
        {VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, "HOST_VISIBLE"},
        {VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, "HOST_COHERENT"},
        {VK_MEMORY_PROPERTY_HOST_CACHED_BIT, "HOST_CACHED"},
        {VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT, "LAZILY_ALLOCATED"},
        {VK_MEMORY_PROPERTY_PROTECTED_BIT, "PROTECTED"},
        {VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD, "DEVICE_COHERENT_AMD"},
        {VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD, "DEVICE_UNCACHED_AMD"},
    };
    std::string out;
    for (const auto& [bit, name] : names)
        if (flags & bit) out += (out.empty() ? "" : "|") + std::string(name);
    return out.empty() ? "none" : out;
}

}  // namespace revnet
