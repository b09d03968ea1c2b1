#include "revnet/engine/engine.hpp"

#include <algorithm>
#include <limits>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace revnet {

namespace {

DeviceInfo chooseDevice(const Instance& instance, const EngineOptions& options) {
    const auto devices = enumerateDevices(instance.handle(), options.limits);
    DeviceInfo chosen = devices[selectDevice(devices, options.device, options.processSlot)];
    if (options.kernelShapes) chosen.kernelShapes = *options.kernelShapes;
    return chosen;
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
    if (const char* variant = std::getenv("REVNET_VARIANT"); variant && *variant) {
        try {
            options.kernelShapes = kernelShapesFromName(variant);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string("REVNET_VARIANT: ") + e.what());
        }
    }
    return options;
}

Engine::Engine(const EngineOptions& options)
    : poison_(options.poisonTensors),
      instance_(options.validation),
      device_(chooseDevice(instance_, options)),
      arena_(device_, ArenaOptions{options.blockSize, options.forceStaging}),
      pipelines_(device_, options.pipelineCache) {
    arena_.ledger().setBudget(options.budget ? *options.budget : defaultBudget(info()));
    // Readback memory: host-cached where the device has it, which serves writes as well.
    if (arena_.needsStaging()) transferBuffer();
}

const Allocation& Engine::transferBuffer() {
    // Readback memory: host-cached where the device has it, which serves writes as well.
    if (!transfer_) transfer_ = arena_.allocateReadback(kTransferChunk, "transfer staging");
    return transfer_;
}

Tensor Engine::tensor(Shape shape, Category category, std::string name) {
    // Past maxStorageBufferRange is fine: kernels bind it in batch chunks (kernels/dispatch.hpp).
    const std::uint64_t bytes = shape.elements() * sizeof(float);
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
    if (bytes.empty()) return;  // an empty tensor's span may be null, which memcpy must not see
    const Allocation& target = tensor.allocation();
    if (target.mapped()) {
        std::memcpy(static_cast<std::byte*>(target.mapped()) + offset, bytes.data(), bytes.size());
        arena_.flush(target);
        return;
    }
    const Allocation& transfer = transferBuffer();
    for (std::size_t done = 0; done < bytes.size(); done += kTransferChunk) {
        const std::size_t size = std::min<std::size_t>(kTransferChunk, bytes.size() - done);
        std::memcpy(transfer.mapped(), bytes.data() + done, size);
        arena_.flush(transfer);
        Recorder recorder(device_);
        recorder.copy({transfer.buffer(), transfer.offset(), size}, {target.buffer(), target.offset() + offset + done, size});
        recorder.run();
    }
}

std::vector<float> Engine::download(const Tensor& tensor) {
    std::vector<float> values(tensor.shape().elements());
    const std::size_t bytes = values.size() * sizeof(float);
    if (bytes == 0) return values;
    const Allocation& source = tensor.allocation();
    if (source.mapped()) {
        arena_.invalidate(source);
        std::memcpy(values.data(), source.mapped(), bytes);
        return values;
    }
    const Allocation& transfer = transferBuffer();
    for (std::size_t done = 0; done < bytes; done += kTransferChunk) {
        const std::size_t size = std::min<std::size_t>(kTransferChunk, bytes - done);
        Recorder recorder(device_);
        recorder.copy({source.buffer(), source.offset() + done, size}, {transfer.buffer(), transfer.offset(), size});
        recorder.run();
        arena_.invalidate(transfer);
        std::memcpy(reinterpret_cast<std::byte*>(values.data()) + done, transfer.mapped(), size);
    }
    return values;
}

}  // namespace revnet
