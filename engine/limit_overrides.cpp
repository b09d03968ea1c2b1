#include "revnet/engine/limit_overrides.hpp"

#include "revnet/engine/device_info.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace revnet {

namespace {

// The Vulkan 1.1 required limits (the spec's "Required Limits" table; maxMemoryAllocationSize
// from VK_KHR_maintenance3).
const std::vector<std::pair<std::string, std::uint64_t>> kMinimums = {
    {"maxComputeWorkGroupCount", 65535},     {"maxComputeWorkGroupInvocations", 128},
    {"maxComputeWorkGroupSize", 128},        {"maxComputeWorkGroupSizeZ", 64},
    {"maxComputeSharedMemorySize", 16384},   {"maxStorageBufferRange", std::uint64_t{1} << 27},
    {"maxTexelBufferElements", 65536},       {"maxUniformBufferRange", 16384},
    {"maxMemoryAllocationSize", std::uint64_t{1} << 30}, {"maxPushConstantsSize", 128},
    {"timestampValidBits", 0},  // timestamps are optional on a compute queue
    // A mask (VkSubgroupFeatureFlagBits), cleared bit by bit: only the basic operations are required.
    {"subgroupSupportedOperations", VK_SUBGROUP_FEATURE_BASIC_BIT},
};

template <typename T>
void lower(T& limit, std::uint64_t value) {
    limit = static_cast<T>(std::min<std::uint64_t>(limit, value));
}

std::uint64_t parseValue(const std::string& name, const std::string& text) {
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used, 0);
    } catch (const std::exception&) {
        used = 0;
    }
    if (text.empty() || used != text.size() || text[0] == '-')
        throw std::invalid_argument("REVNET_LIMITS: " + name + "=" + text + " is not a whole number");
    return value;
}

}  // namespace

const std::vector<std::string>& LimitOverrides::limitNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& [name, value] : kMinimums) out.push_back(name);
        return out;
    }();
    return names;
}

LimitOverrides LimitOverrides::parse(std::string_view text) {
    LimitOverrides overrides;
    overrides.text_ = std::string(text);
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string item(text.substr(start, end - start));
        start = end + 1;
        if (item.empty()) continue;
        if (item == "minimum") {
            overrides.values_.insert(overrides.values_.end(), kMinimums.begin(), kMinimums.end());
            continue;
        }
        const std::size_t equals = item.find('=');
        const std::string name = item.substr(0, equals);
        const auto& names = limitNames();
        if (equals == std::string::npos || std::find(names.begin(), names.end(), name) == names.end()) {
            std::string known;
            for (const auto& n : names) known += " " + n;
            throw std::invalid_argument("REVNET_LIMITS: '" + item + "' is not name=value with a known limit, nor "
                                        "'minimum'; limits:" + known);
        }
        overrides.values_.push_back({name, parseValue(name, item.substr(equals + 1))});
    }
    return overrides;
}

LimitOverrides LimitOverrides::fromEnvironment() {
    const char* text = std::getenv("REVNET_LIMITS");
    return text ? parse(text) : LimitOverrides{};
}

void LimitOverrides::applyTo(DeviceInfo& device) const {
    VkPhysicalDeviceLimits& l = device.limits;
    for (const auto& [name, value] : values_) {
        if (name == "maxComputeWorkGroupCount") for (auto& c : l.maxComputeWorkGroupCount) lower(c, value);
        else if (name == "maxComputeWorkGroupInvocations") lower(l.maxComputeWorkGroupInvocations, value);
        else if (name == "maxComputeWorkGroupSize") for (auto& s : l.maxComputeWorkGroupSize) lower(s, value);
        else if (name == "maxComputeWorkGroupSizeZ") lower(l.maxComputeWorkGroupSize[2], value);
        else if (name == "maxComputeSharedMemorySize") lower(l.maxComputeSharedMemorySize, value);
        else if (name == "maxStorageBufferRange") lower(l.maxStorageBufferRange, value);
        else if (name == "maxTexelBufferElements") lower(l.maxTexelBufferElements, value);
        else if (name == "maxUniformBufferRange") lower(l.maxUniformBufferRange, value);
        else if (name == "maxMemoryAllocationSize") lower(device.maxMemoryAllocationSize, value);
        else if (name == "maxPushConstantsSize") lower(l.maxPushConstantsSize, value);
        else if (name == "timestampValidBits") lower(device.maxTimestampBits, value);
        else if (name == "subgroupSupportedOperations") device.subgroupOperations &= static_cast<VkSubgroupFeatureFlags>(value);
    }
    if (!empty()) device.limitsLowered = text_;
}

}  // namespace revnet
