// Tensor ranges the host works on in the middle of a replayed recording (an exchange with other
// processes between two passes of a step): the recording copies them out to host-visible memory,
// a host step (Recorder::hostStep) reads and rewrites them there, and the recording copies them
// back in. The same copies on every device, mappable tensors or not: one path, tested everywhere.
#pragma once

#include "revnet/engine/engine.hpp"

#include <span>
#include <string>

namespace revnet {

class HostExchange {
public:
    // `floats` of host-visible memory, addressed by element.
    HostExchange(Engine& engine, uint64_t floats, const std::string& name);

    // Records copies of a dense view's elements to exchange[at...], and back.
    void recordOut(Recorder& recorder, const TensorView& source, uint64_t at) const;
    void recordIn(Recorder& recorder, uint64_t at, const TensorView& target) const;
    // The host's view of exchange[at, at + count); inside a host step, between beginHostAccess()
    // (device writes made visible) and endHostAccess() (host writes made visible to what follows).
    std::span<float> floats(uint64_t at, uint64_t count) const;
    void beginHostAccess() const;
    void endHostAccess() const;

    // Bytes it charges for `floats`, for planners.
    static uint64_t plannedBytes(const MemoryArena& arena, uint64_t floats) { return arena.chargedSize(floats * 4); }

private:
    BufferRegion region(uint64_t at, uint64_t bytes) const;

    Engine& engine_;
    uint64_t floats_;
    Allocation memory_;
};

}  // namespace revnet
