// What a replayed recording hands back to the host each time (a loss sum, a count): the recording
// ends by copying the source tensor into host-visible staging memory, which the host reads after
// the recording's fence. No allocation, transfer or queue wait of its own per replay, on any device.
#pragma once

#include "revnet/engine/engine.hpp"

#include <string>
#include <vector>

namespace revnet {

class ReadbackBuffer {
public:
    ReadbackBuffer(Engine& engine, const Tensor& source, const std::string& name);

    // Records the copy; put it last in a recording (after whatever writes the source).
    void recordCopy(Recorder& recorder) const;
    // The source's values as the last replay of such a recording left them (after its wait()).
    std::vector<float> read() const;

    // Staging bytes it charges for a source of `bytes`, for planners.
    static uint64_t plannedBytes(const MemoryArena& arena, uint64_t bytes) { return arena.chargedSize(bytes); }

private:
    Engine& engine_;
    const Tensor& source_;
    Allocation copy_;
};

}  // namespace revnet
