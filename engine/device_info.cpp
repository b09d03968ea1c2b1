#include "revnet/engine/device_info.hpp"

#include "engine/vulkan_error.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace revnet {

namespace {

bool hasExtension(VkPhysicalDevice device, const char* name) {
    uint32_t count = 0;
    check(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr),
          "vkEnumerateDeviceExtensionProperties");
    std::vector<VkExtensionProperties> extensions(count);
    check(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, extensions.data()),
          "vkEnumerateDeviceExtensionProperties");
    return std::any_of(extensions.begin(), extensions.end(),
                       [&](const auto& e) { return std::strcmp(e.extensionName, name) == 0; });
}

int typePreference(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
        default: return 4;
    }
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string versionString(uint32_t v) {
    return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
           "." + std::to_string(VK_API_VERSION_PATCH(v));
}

std::string mib(VkDeviceSize bytes) {
    std::ostringstream out;
    out << bytes / (1024 * 1024) << " MiB";
    return out.str();
}

std::string deviceList(const std::vector<DeviceInfo>& devices) {
    std::string list;
    for (const auto& d : devices)
        list += "\n  " + std::to_string(d.index) + ": " + d.name + " (" + deviceTypeName(d.type) + ")";
    return list;
}

DeviceInfo describePhysicalDevice(VkPhysicalDevice handle, uint32_t index) {
    DeviceInfo info;
    info.index = index;
    info.handle = handle;

    const bool driverProps = hasExtension(handle, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    info.hasMemoryBudget = hasExtension(handle, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    info.portabilitySubset = hasExtension(handle, "VK_KHR_portability_subset");

    VkPhysicalDeviceDriverPropertiesKHR driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES_KHR};
    VkPhysicalDeviceMaintenance3Properties maintenance3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    subgroup.pNext = &maintenance3;
    if (driverProps) maintenance3.pNext = &driver;
    VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    props.pNext = &subgroup;
    vkGetPhysicalDeviceProperties2(handle, &props);

    const auto& p = props.properties;
    info.name = p.deviceName;
    info.type = p.deviceType;
    info.kernelShapes = p.deviceType;
    info.apiVersion = p.apiVersion;
    info.limits = p.limits;
    info.subgroupSize = subgroup.subgroupSize;
    if (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) info.subgroupOperations = subgroup.supportedOperations;
    info.maxMemoryAllocationSize = maintenance3.maxMemoryAllocationSize;
    info.timestamps = p.limits.timestampPeriod > 0;  // the queue family's valid bits decide
    std::memcpy(info.pipelineCacheUuid.data(), p.pipelineCacheUUID, VK_UUID_SIZE);
    info.driver = driverProps ? std::string(driver.driverName) + " " + driver.driverInfo
                              : "driver version " + std::to_string(p.driverVersion);

    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 memory{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    if (info.hasMemoryBudget) memory.pNext = &budget;
    vkGetPhysicalDeviceMemoryProperties2(handle, &memory);
    info.memory = MemoryLayout::of(memory.memoryProperties);
    if (info.hasMemoryBudget)
        info.heapBudgets.assign(budget.heapBudget, budget.heapBudget + memory.memoryProperties.memoryHeapCount);
    return info;
}

}  // namespace

const char* deviceTypeName(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
        default: return "other";
    }
}

VkPhysicalDeviceType kernelShapesFromName(std::string_view name) {
    if (name == "cpu") return VK_PHYSICAL_DEVICE_TYPE_CPU;
    if (name == "gpu") return VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    throw std::invalid_argument("'" + std::string(name) + "' is not a kernel variant: use cpu or gpu");
}

std::vector<DeviceInfo> enumerateDevices(VkInstance instance, const LimitOverrides& overrides) {
    uint32_t count = 0;
    check(vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
    std::vector<VkPhysicalDevice> handles(count);
    check(vkEnumeratePhysicalDevices(instance, &count, handles.data()), "vkEnumeratePhysicalDevices");
    std::vector<DeviceInfo> devices;
    for (uint32_t i = 0; i < count; ++i) {
        devices.push_back(describePhysicalDevice(handles[i], i));
        overrides.applyTo(devices.back());
    }
    return devices;
}

VkDeviceSize defaultBudget(const DeviceInfo& device) {
    const auto choice = chooseMemoryTypes(device.memory, ~0u, MemoryUse::Tensors);
    if (choice.candidates.empty()) return 0;
    const uint32_t heap = device.memory.types[choice.candidates.front()].heap;
    const VkDeviceSize available = heap < device.heapBudgets.size() ? device.heapBudgets[heap] : device.memory.heaps[heap].size;
    return available - available / 10;
}

std::size_t selectDevice(const std::vector<DeviceInfo>& devices, std::string_view selector, uint32_t slot) {
    if (devices.empty())
        throw std::runtime_error(
            "no Vulkan device found; on Debian, apt-get install mesa-vulkan-drivers gives the "
            "lavapipe CPU device");
    auto refuseOld = [&](const DeviceInfo& d) -> std::size_t {
        if (!d.usable())
            throw std::runtime_error("device " + std::to_string(d.index) + " (" + d.name +
                                     ") supports only Vulkan " + versionString(d.apiVersion) +
                                     "; revnet-vk needs 1.1");
        return d.index;
    };
    if (!selector.empty() && std::all_of(selector.begin(), selector.end(), ::isdigit)) {
        const std::size_t index = std::stoul(std::string(selector));
        if (index >= devices.size())
            throw std::runtime_error("no device with index " + std::string(selector) + "; devices are:" +
                                     deviceList(devices));
        return refuseOld(devices[index]);
    }
    if (!selector.empty()) {
        for (const auto& d : devices)
            if (lower(d.name).find(lower(selector)) != std::string::npos) return refuseOld(d);
        throw std::runtime_error("no device whose name contains '" + std::string(selector) +
                                 "'; devices are:" + deviceList(devices));
    }
    const DeviceInfo* best = nullptr;
    for (const auto& d : devices)
        if (d.usable() && (!best || typePreference(d.type) < typePreference(best->type))) best = &d;
    if (!best) throw std::runtime_error("no device supports Vulkan 1.1; devices are:" + deviceList(devices));
    if (best->type == VK_PHYSICAL_DEVICE_TYPE_CPU) return best->index;
    std::vector<std::size_t> peers;  // usable devices of the preferred type, in index order
    for (const auto& d : devices)
        if (d.usable() && d.type == best->type) peers.push_back(d.index);
    return peers[slot % peers.size()];
}

std::string describeDevice(const DeviceInfo& d) {
    const auto& l = d.limits;
    std::ostringstream out;
    out << d.index << ": " << d.name << "\n"
        << "   type                        " << deviceTypeName(d.type)
        << (d.kernelShapes != d.type ? std::string(", kernels shaped for a ") + deviceTypeName(d.kernelShapes) : "") << "\n"
        << "   driver                      " << d.driver << "\n"
        << "   Vulkan                      " << versionString(d.apiVersion)
        << (d.usable() ? "" : "  (too old: revnet-vk needs 1.1)") << "\n";
    for (std::size_t h = 0; h < d.memory.heaps.size(); ++h)
        out << "   memory heap " << h << "               " << mib(d.memory.heaps[h].size)
            << (d.memory.heaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT ? " device-local" : " host")
            << (h < d.heapBudgets.size() ? ", budget " + mib(d.heapBudgets[h]) : std::string()) << "\n";
    for (std::size_t t = 0; t < d.memory.types.size(); ++t)
        out << "   memory type " << t << (t < 10 ? " " : "") << "              heap " << d.memory.types[t].heap << ", "
            << memoryFlagsText(d.memory.types[t].flags) << "\n";
    for (MemoryUse use : {MemoryUse::Tensors, MemoryUse::Upload, MemoryUse::Readback}) {
        const std::string label = std::string("memory for ") + memoryUseName(use);
        out << "   " << label << std::string(28 - label.size(), ' ') << chooseMemoryTypes(d.memory, ~0u, use).why << "\n";
    }
    out << "   default budget              " << mib(defaultBudget(d))
        << (d.heapBudgets.empty() ? " (nine tenths of the heap)" : " (nine tenths of VK_EXT_memory_budget's)") << "\n"
        << "   max workgroup size          " << l.maxComputeWorkGroupSize[0] << " x "
        << l.maxComputeWorkGroupSize[1] << " x " << l.maxComputeWorkGroupSize[2] << "\n"
        << "   max workgroup invocations   " << l.maxComputeWorkGroupInvocations << "\n"
        << "   max workgroup count         " << l.maxComputeWorkGroupCount[0] << " x "
        << l.maxComputeWorkGroupCount[1] << " x " << l.maxComputeWorkGroupCount[2] << "\n"
        << "   shared memory               " << l.maxComputeSharedMemorySize / 1024 << " KiB\n"
        << "   subgroup size               " << d.subgroupSize << "\n"
        << "   subgroup shuffles           " << (d.subgroupOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT ? "yes" : "no") << "\n"
        << "   maxStorageBufferRange       " << mib(l.maxStorageBufferRange) << "\n"
        << "   maxMemoryAllocationSize     " << mib(d.maxMemoryAllocationSize) << "\n"
        << "   maxPushConstantsSize        " << l.maxPushConstantsSize << " bytes\n"
        << "   storage buffer alignment    " << l.minStorageBufferOffsetAlignment << " bytes\n"
        << "   timestamps                  "
        << (d.timestamps ? "yes, " + std::to_string(l.timestampPeriod) + " ns period" : std::string("no")) << "\n"
        << "   VK_EXT_memory_budget        " << (d.hasMemoryBudget ? "yes" : "no") << "\n"
        << "   maxTexelBufferElements      " << l.maxTexelBufferElements << "\n"
        << "   portability subset          " << (d.portabilitySubset ? "yes (MoltenVK-style)" : "no") << "\n";
    if (!d.limitsLowered.empty()) out << "   limits lowered by           REVNET_LIMITS=" << d.limitsLowered << "\n";
    return out.str();
}

}  // namespace revnet
