#include "engine/host_exchange.hpp"

#include <stdexcept>

namespace revnet {

HostExchange::HostExchange(Engine& engine, uint64_t floats, const std::string& name)
    : engine_(engine), floats_(floats), memory_(engine.memory().allocateReadback(std::max<uint64_t>(floats, 1) * 4, name)) {}

BufferRegion HostExchange::region(uint64_t at, uint64_t bytes) const {
    if (at * 4 + bytes > floats_ * 4)
        throw std::out_of_range("host exchange: " + std::to_string(bytes / 4) + " floats at " + std::to_string(at) +
                                " of " + std::to_string(floats_));
    return {memory_.buffer(), memory_.offset() + at * 4, bytes};
}

void HostExchange::recordOut(Recorder& recorder, const TensorView& source, uint64_t at) const {
    const BufferRegion from = source.denseRegion();
    recorder.copy(from, region(at, from.bytes));
}

void HostExchange::recordIn(Recorder& recorder, uint64_t at, const TensorView& target) const {
    const BufferRegion to = target.denseRegion();
    recorder.copy(region(at, to.bytes), to);
}

std::span<float> HostExchange::floats(uint64_t at, uint64_t count) const {
    region(at, count * 4);
    return {reinterpret_cast<float*>(memory_.mapped()) + at, count};
}

void HostExchange::beginHostAccess() const { engine_.memory().invalidate(memory_); }
void HostExchange::endHostAccess() const { engine_.memory().flush(memory_); }

}  // namespace revnet
