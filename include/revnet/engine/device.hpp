// The opened Vulkan device and the one compute queue the engine submits to.
#pragma once

#include "revnet/engine/device_info.hpp"
#include "revnet/engine/unique_handle.hpp"

#include <vulkan/vulkan.h>

namespace revnet {

class Device {
public:
    explicit Device(const DeviceInfo& info);

    VkDevice handle() const { return device_.get(); }
    VkPhysicalDevice physical() const { return info_.handle; }
    const DeviceInfo& info() const { return info_; }
    VkQueue queue() const { return queue_; }
    uint32_t queueFamily() const { return queueFamily_; }
    uint32_t timestampValidBits() const { return timestampValidBits_; }

private:
    DeviceInfo info_;
    uint32_t queueFamily_ = 0;
    uint32_t timestampValidBits_ = 0;
    UniqueHandle<VkDevice> device_;
    VkQueue queue_ = VK_NULL_HANDLE;
};

}  // namespace revnet
