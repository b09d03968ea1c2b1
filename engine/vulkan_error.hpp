// Errors from Vulkan calls: every VkResult is checked, and a failure becomes an exception that
// names the call, the result and what the engine was doing.
#pragma once

#include <vulkan/vulkan.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace revnet {

const char* resultName(VkResult result);

class VulkanError : public std::runtime_error {
public:
    VulkanError(VkResult result, std::string_view call, std::string_view context);
    VkResult result() const { return result_; }

private:
    VkResult result_;
};

// Throws VulkanError unless `result` is VK_SUCCESS. `context` says what was asked for
// ("block of 256 MiB, category activations").
void check(VkResult result, std::string_view call, std::string_view context = {});

}  // namespace revnet
