// Decides where a barrier is needed between recorded commands: before a command that reads what
// an earlier one wrote, writes what an earlier one wrote, or writes what an earlier one read,
// since the last barrier. Independent commands run without one.
#pragma once

#include "revnet/engine/tensor.hpp"

#include <span>
#include <vector>

namespace revnet {

class HazardTracker {
public:
    bool needsBarrier(std::span<const BufferRegion> reads, std::span<const BufferRegion> writes) const;
    void barrier();  // everything before is now complete and visible
    void record(std::span<const BufferRegion> reads, std::span<const BufferRegion> writes);

private:
    std::vector<BufferRegion> read_, written_;
};

}  // namespace revnet
