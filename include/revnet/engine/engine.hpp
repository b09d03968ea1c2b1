// Everything a program needs to run kernels on one device: the instance, the chosen device, its
// memory arena and its pipelines, plus tensor creation and host transfers. Knows nothing of
// neural networks.
#pragma once

#include "revnet/engine/command_recorder.hpp"
#include "revnet/engine/device.hpp"
#include "revnet/engine/instance.hpp"
#include "revnet/engine/memory_arena.hpp"
#include "revnet/engine/pipelines.hpp"
#include "revnet/engine/tensor.hpp"

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace revnet {

struct EngineOptions {
    std::string device;  // index or part of the name; empty = the preferred device
    uint32_t processSlot = 0;  // this process's index on its machine (selectDevice)
    Validation validation = Validation::Off;
    bool forceStaging = false;
    std::optional<std::uint64_t> budget;  // unset: defaultBudget() of the device
    LimitOverrides limits;                // lowers the device's limits (REVNET_LIMITS)
    std::optional<VkPhysicalDeviceType> kernelShapes;  // REVNET_VARIANT: cpu or gpu kernels
    std::optional<std::filesystem::path> pipelineCache;
    VkDeviceSize blockSize = VkDeviceSize{256} << 20;
    // Fill every new tensor with NaN, so that reading memory nothing wrote shows (tests).
    bool poisonTensors = false;

    // REVNET_DEVICE, REVNET_VALIDATION, REVNET_FORCE_STAGING, REVNET_LIMITS, REVNET_VARIANT and
    // REVNET_PIPELINE_CACHE.
    static EngineOptions fromEnvironment();
};

class Engine {
public:
    explicit Engine(const EngineOptions& options);

    const Instance& instance() const { return instance_; }
    const Device& device() const { return device_; }
    const DeviceInfo& info() const { return device_.info(); }
    MemoryArena& memory() { return arena_; }
    Pipelines& pipelines() { return pipelines_; }

    Tensor tensor(Shape shape, Category category, std::string name);
    void upload(const Tensor& tensor, std::span<const float> values);
    // Raw bytes (uint8 images, uint32 labels) into a tensor's memory, from byte `offset`.
    void uploadBytes(const Tensor& tensor, std::span<const std::byte> bytes, std::uint64_t offset = 0);
    std::vector<float> download(const Tensor& tensor);

    // Where tensors cannot be mapped, uploads and downloads go through one staging buffer of this
    // size, held for the engine's life so that the memory plan counts it (transferBytes()).
    static constexpr std::uint64_t kTransferChunk = std::uint64_t{1} << 20;
    // Device memory charged for that buffer: 0 where tensors are mapped.
    std::uint64_t transferBytes() const { return transfer_ ? transfer_.size() : 0; }

private:
    const Allocation& transferBuffer();

    bool poison_ = false;
    Instance instance_;
    Device device_;
    MemoryArena arena_;
    Pipelines pipelines_;
    Allocation transfer_;  // host-visible; only where tensors need staging
};

}  // namespace revnet
