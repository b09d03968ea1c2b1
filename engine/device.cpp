#include "revnet/engine/device.hpp"

#include "engine/vulkan_error.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace revnet {

namespace {

// Prefers a compute queue without graphics: on GPUs that is the asynchronous compute engine.
uint32_t pickComputeFamily(const std::vector<VkQueueFamilyProperties>& families, const std::string& name) {
    int best = -1;
    for (uint32_t f = 0; f < families.size(); ++f) {
        if (!(families[f].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        const bool computeOnly = !(families[f].queueFlags & VK_QUEUE_GRAPHICS_BIT);
        if (best < 0 || computeOnly) best = static_cast<int>(f);
        if (computeOnly) break;
    }
    if (best < 0) throw std::runtime_error("device " + name + " has no compute queue");
    return static_cast<uint32_t>(best);
}

}  // namespace

Device::Device(const DeviceInfo& info) : info_(info) {
    if (!info.usable()) throw std::runtime_error("device " + info.name + " does not support Vulkan 1.1");
    uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(info.handle, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(info.handle, &count, families.data());
    queueFamily_ = pickComputeFamily(families, info.name);
    timestampValidBits_ = info.timestamps ? std::min(families[queueFamily_].timestampValidBits, info.maxTimestampBits) : 0;

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queueInfo{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queueInfo.queueFamilyIndex = queueFamily_;
    queueInfo.queueCount = 1;
    queueInfo.pQueuePriorities = &priority;

    // MoltenVK's devices must be opened with the portability subset they advertise; the memory
    // budget extension must be enabled for its figures to be queried.
    std::vector<const char*> extensions;
    if (info.portabilitySubset) extensions.push_back("VK_KHR_portability_subset");
    if (info.hasMemoryBudget) extensions.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);

    VkDeviceCreateInfo createInfo{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    createInfo.queueCreateInfoCount = 1;
    createInfo.pQueueCreateInfos = &queueInfo;
    createInfo.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    createInfo.ppEnabledExtensionNames = extensions.data();

    VkDevice device = VK_NULL_HANDLE;
    check(vkCreateDevice(info.handle, &createInfo, nullptr, &device), "vkCreateDevice", info.name);
    device_ = UniqueHandle<VkDevice>(device, [](VkDevice d) {
        vkDeviceWaitIdle(d);
        vkDestroyDevice(d, nullptr);
    });
    vkGetDeviceQueue(device, queueFamily_, 0, &queue_);
}

}  // namespace revnet
