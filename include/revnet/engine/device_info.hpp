// What the engine knows about each Vulkan device before opening it, and how one is chosen.
#pragma once

#include "revnet/engine/limit_overrides.hpp"
#include "revnet/engine/memory_types.hpp"

#include <vulkan/vulkan.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace revnet {

struct DeviceInfo {
    uint32_t index = 0;
    VkPhysicalDevice handle = VK_NULL_HANDLE;
    std::string name;
    VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
    std::string driver;  // "llvmpipe 22.3.6" where VK_KHR_driver_properties says, else the version
    uint32_t apiVersion = 0;
    VkPhysicalDeviceLimits limits{};
    uint32_t subgroupSize = 0;
    // What compute shaders may do across a subgroup (VkSubgroupFeatureFlagBits; none where compute
    // is not a supported stage). Vulkan 1.1 promises only the basic operations.
    VkSubgroupFeatureFlags subgroupOperations = 0;
    VkDeviceSize maxMemoryAllocationSize = 0;
    MemoryLayout memory;
    bool timestamps = false;
    uint32_t maxTimestampBits = 64;
    // The device type kernels choose their shapes for: `type` unless REVNET_VARIANT says otherwise,
    // so that the GPU-shaped kernels can be tested on a CPU device and the other way round.
    VkPhysicalDeviceType kernelShapes = VK_PHYSICAL_DEVICE_TYPE_OTHER;  // lowered by REVNET_LIMITS=timestampValidBits=0 to test without
    bool hasMemoryBudget = false;           // VK_EXT_memory_budget
    std::vector<VkDeviceSize> heapBudgets;  // per heap, from VK_EXT_memory_budget; empty without
    bool portabilitySubset = false;         // VK_KHR_portability_subset (MoltenVK): must be enabled
    std::string limitsLowered;              // the REVNET_LIMITS that lowered `limits`, if any
    std::array<uint8_t, VK_UUID_SIZE> pipelineCacheUuid{};

    bool usable() const { return apiVersion >= VK_API_VERSION_1_1; }
};

const char* deviceTypeName(VkPhysicalDeviceType type);

// "cpu" or "gpu" (REVNET_VARIANT, --variant) to the device type kernels shape for; throws
// std::invalid_argument on anything else.
VkPhysicalDeviceType kernelShapesFromName(std::string_view name);

std::vector<DeviceInfo> enumerateDevices(VkInstance instance, const LimitOverrides& overrides = {});

// What a run may allocate by default: the budget VK_EXT_memory_budget gives for the tensors'
// heap (else that heap's size), less a tenth for other programs and the driver.
VkDeviceSize defaultBudget(const DeviceInfo& device);

// Picks a device by `selector`: empty = the preferred type (discrete GPU, integrated, virtual,
// CPU); all digits = that index; otherwise a case-insensitive part of the name. Throws with the
// list of devices when nothing matches. `slot`: with an empty selector, this process's index among
// those sharing the machine: it takes the slot-th GPU of the preferred type (round robin), while a
// CPU device, which uses every core already, is shared.
std::size_t selectDevice(const std::vector<DeviceInfo>& devices, std::string_view selector, uint32_t slot = 0);

// A human-readable block for `revnet devices`.
std::string describeDevice(const DeviceInfo& device);

}  // namespace revnet
