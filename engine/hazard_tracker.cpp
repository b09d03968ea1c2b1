#include "revnet/engine/hazard_tracker.hpp"

namespace revnet {

namespace {
bool anyOverlap(std::span<const BufferRegion> a, const std::vector<BufferRegion>& b) {
    for (const auto& x : a)
        for (const auto& y : b)
            if (overlaps(x, y)) return true;
    return false;
}
}  // namespace

bool HazardTracker::needsBarrier(std::span<const BufferRegion> reads, std::span<const BufferRegion> writes) const {
    return anyOverlap(reads, written_) || anyOverlap(writes, written_) || anyOverlap(writes, read_);
}

void HazardTracker::barrier() {
    read_.clear();
    written_.clear();
}

void HazardTracker::record(std::span<const BufferRegion> reads, std::span<const BufferRegion> writes) {
    read_.insert(read_.end(), reads.begin(), reads.end());
    written_.insert(written_.end(), writes.begin(), writes.end());
}

}  // namespace revnet
