#include "revnet/engine/upload_ring.hpp"

#include <stdexcept>

namespace revnet {

namespace {

// Each target's bytes start on a 16-byte boundary within a slot.
std::vector<uint64_t> layout(const std::vector<uint64_t>& targetBytes) {
    std::vector<uint64_t> offsets;
    uint64_t at = 0;
    for (uint64_t bytes : targetBytes) {
        offsets.push_back(at);
        at = (at + bytes + 15) / 16 * 16;
    }
    offsets.push_back(at);  // the slot's size
    return offsets;
}

std::vector<uint64_t> sizesOf(const std::vector<const Tensor*>& targets) {
    std::vector<uint64_t> sizes;
    for (const Tensor* t : targets) sizes.push_back(t->bytes());
    return sizes;
}

}  // namespace

UploadRing::UploadRing(Engine& engine, std::vector<const Tensor*> targets, uint32_t slots, const std::string& name)
    : engine_(engine), targets_(std::move(targets)), offsets_(layout(sizesOf(targets_))) {
    if (slots == 0 || targets_.empty()) throw std::invalid_argument("upload ring " + name + ": needs slots and targets");
    for (uint32_t s = 0; s < slots; ++s)
        slots_.push_back(engine.memory().allocateStaging(offsets_.back(), name + " slot " + std::to_string(s)));
}

std::span<std::byte> UploadRing::bytes(uint32_t slot, std::size_t target) const {
    return {slots_.at(slot).mapped() + offsets_.at(target), targets_.at(target)->bytes()};
}

void UploadRing::flush(uint32_t slot) const { engine_.memory().flush(slots_.at(slot)); }

void UploadRing::recordCopies(Recorder& recorder, uint32_t slot) const {
    const Allocation& from = slots_.at(slot);
    for (std::size_t t = 0; t < targets_.size(); ++t) {
        const Allocation& to = targets_[t]->allocation();
        const uint64_t bytes = targets_[t]->bytes();
        recorder.copy({from.buffer(), from.offset() + offsets_[t], bytes}, {to.buffer(), to.offset(), bytes});
    }
}

uint64_t UploadRing::plannedBytes(const MemoryArena& arena, const std::vector<uint64_t>& targetBytes, uint32_t slots) {
    return slots * arena.chargedSize(layout(targetBytes).back());
}

}  // namespace revnet
