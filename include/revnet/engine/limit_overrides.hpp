// REVNET_LIMITS: lowers device limits the engine reads, so that a device with smaller limits than
// this one (a real GPU's, or the Vulkan minimums) can be simulated and tested here. A limit is
// only ever lowered, never raised: the driver still enforces its own.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace revnet {

struct DeviceInfo;

class LimitOverrides {
public:
    // "name=value,..." with names as in VkPhysicalDeviceLimits (maxComputeWorkGroupCount and
    // maxComputeWorkGroupSize lower all three axes), or "minimum": the Vulkan 1.1 required
    // minimums of every limit listed in limitNames(). Throws std::invalid_argument naming the
    // unknown limit or the malformed value.
    static LimitOverrides parse(std::string_view text);
    // REVNET_LIMITS, or none.
    static LimitOverrides fromEnvironment();
    static const std::vector<std::string>& limitNames();

    bool empty() const { return values_.empty(); }
    void applyTo(DeviceInfo& device) const;
    std::string text() const { return text_; }

private:
    std::vector<std::pair<std::string, std::uint64_t>> values_;
    std::string text_;
};

}  // namespace revnet
