// Inputs the host writes for each replay of a recording (a batch of images and labels, a step
// counter, a learning rate) while the device still works on the previous replay: `slots` copies
// of the targets' bytes in host-visible staging memory. A recording made for slot i begins by
// copying slot i into the targets, so filling slot i+1 never touches memory the device is reading.
// The copies run on every device, mappable memory or not: one path, tested everywhere.
#pragma once

#include "revnet/engine/engine.hpp"

#include <span>
#include <string>
#include <vector>

namespace revnet {

class UploadRing {
public:
    UploadRing(Engine& engine, std::vector<const Tensor*> targets, uint32_t slots, const std::string& name);

    uint32_t slots() const { return static_cast<uint32_t>(slots_.size()); }
    // Where the host writes target t's bytes for slot s (as many bytes as the target holds).
    std::span<std::byte> bytes(uint32_t slot, std::size_t target) const;
    template <typename T>
    std::span<T> values(uint32_t slot, std::size_t target) const {
        const auto b = bytes(slot, target);
        return {reinterpret_cast<T*>(b.data()), b.size() / sizeof(T)};
    }
    // Makes the host's writes to a slot visible to the device; call before submitting its recording.
    void flush(uint32_t slot) const;
    // Records the copies of a slot into the targets.
    void recordCopies(Recorder& recorder, uint32_t slot) const;

    // Staging bytes the ring charges for these target sizes, for planners.
    static uint64_t plannedBytes(const MemoryArena& arena, const std::vector<uint64_t>& targetBytes, uint32_t slots);

private:
    Engine& engine_;
    std::vector<const Tensor*> targets_;
    std::vector<uint64_t> offsets_;  // of each target within a slot
    std::vector<Allocation> slots_;
};

}  // namespace revnet
