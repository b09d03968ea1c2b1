#include "engine/engine.hpp"

#include <limits>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace revnet {

namespace {

DeviceInfo chooseDevice(const Instance& instance, const std::string& selector, const LimitOverrides& limits) {
    const auto devices = enumerateDevices(instance.handle(), limits);
    return devices[selectDevice(devices, selector)];
}

}  // namespace

EngineOptions EngineOptions::fromEnvironment() {
    EngineOptions options;
    if (const char* device = std::getenv("REVNET_DEVICE")) options.device = device;
    options.validation = validationFromEnvironment();
    const char* staging = std::getenv("REVNET_FORCE_STAGING");
    options.forceStaging = staging && *staging && std::strcmp(staging, "0") != 0;
    options.pipelineCache = defaultPipelineCacheFile();
    options.limits = LimitOverrides::fromEnvironment();
    return options;
}

Engine::Engine(const EngineOptions& options)
    : poison_(options.poisonTensors),
      instance_(options.validation),
      device_(chooseDevice(instance_, options.device, options.limits)),
      arena_(device_, ArenaOptions{options.blockSize, options.forceStaging}),
      pipelines_(device_, options.pipelineCache) {
    arena_.ledger().setBudget(options.budget ? *options.budget : defaultBudget(info()));
}

Tensor Engine::tensor(Shape shape, Category category, std::string name) {
    const std::uint64_t bytes = shape.elements() * sizeof(float);
    if (bytes > info().limits.maxStorageBufferRange)
        throw std::runtime_error("tensor " + name + " (" + toString(shape) + ", " + formatBytes(bytes) +
                                 ") is larger than the device's maxStorageBufferRange of " +
                                 formatBytes(info().limits.maxStorageBufferRange));
    Allocation allocation = arena_.allocate(bytes, category, "tensor " + name + " " + toString(shape));
    Tensor tensor(std::move(allocation), arena_.alignment(), shape, std::move(name));
    if (poison_) upload(tensor, std::vector<float>(shape.elements(), std::numeric_limits<float>::quiet_NaN()));
    return tensor;
}

void Engine::upload(const Tensor& tensor, std::span<const float> values) {
    if (values.size() != tensor.shape().elements())
        throw std::invalid_argument("upload to " + tensor.name() + ": " + std::to_string(values.size()) +
                                    " values for " + std::to_string(tensor.shape().elements()) + " elements");
    uploadBytes(tensor, std::as_bytes(values));
}

void Engine::uploadBytes(const Tensor& tensor, std::span<const std::byte> bytes, std::uint64_t offset) {
    if (offset + bytes.size() > tensor.bytes())
        throw std::invalid_argument("upload to " + tensor.name() + ": " + std::to_string(bytes.size()) +
                                    " bytes at " + std::to_string(offset) + " past its " +
                                    std::to_string(tensor.bytes()) + " bytes");
    const Allocation& target = tensor.allocation();
    if (target.mapped()) {
        std::memcpy(static_cast<std::byte*>(target.mapped()) + offset, bytes.data(), bytes.size());
        arena_.flush(target);
        return;
    }
    Allocation staging = arena_.allocateStaging(bytes.size(), "upload of " + tensor.name());
    std::memcpy(staging.mapped(), bytes.data(), bytes.size());
    Recorder recorder(device_);
    recorder.copy({staging.buffer(), staging.offset(), bytes.size()},
                  {target.buffer(), target.offset() + offset, bytes.size()});
    recorder.run();
}

std::vector<float> Engine::download(const Tensor& tensor) {
    std::vector<float> values(tensor.shape().elements());
    const std::size_t bytes = values.size() * sizeof(float);
    const Allocation& source = tensor.allocation();
    if (source.mapped()) {
        arena_.invalidate(source);
        std::memcpy(values.data(), source.mapped(), bytes);
        return values;
    }
    Allocation staging = arena_.allocateReadback(bytes, "download of " + tensor.name());
    Recorder recorder(device_);
    recorder.copy({source.buffer(), source.offset(), bytes}, {staging.buffer(), staging.offset(), bytes});
    recorder.run();
    std::memcpy(values.data(), staging.mapped(), bytes);
    return values;
}

}  // namespace revnet
