#include "engine/readback_buffer.hpp"

#include <cstring>

namespace revnet {

ReadbackBuffer::ReadbackBuffer(Engine& engine, const Tensor& source, const std::string& name)
    : engine_(engine), source_(source), copy_(engine.memory().allocateReadback(source.bytes(), name)) {}

void ReadbackBuffer::recordCopy(Recorder& recorder) const {
    const Allocation& from = source_.allocation();
    recorder.copy({from.buffer(), from.offset(), source_.bytes()}, {copy_.buffer(), copy_.offset(), source_.bytes()});
}

std::vector<float> ReadbackBuffer::read() const {
    engine_.memory().invalidate(copy_);
    std::vector<float> values(source_.shape().elements());
    std::memcpy(values.data(), copy_.mapped(), source_.bytes());
    return values;
}

}  // namespace revnet
