// The Vulkan instance, with the Khronos validation layer and a debug messenger that counts
// every warning and error it reports (tests fail on any).
#pragma once

#include "revnet/engine/unique_handle.hpp"

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace revnet {

enum class Validation { Off, On, Synchronization };

// REVNET_VALIDATION: unset or 0 = off, 1 = on, "sync" = on with synchronization validation.
Validation validationFromEnvironment();

struct ValidationCounts {
    std::atomic<std::uint64_t> warnings{0};
    std::atomic<std::uint64_t> errors{0};
};

class Instance {
public:
    explicit Instance(Validation validation);

    VkInstance handle() const { return instance_.get(); }
    Validation validation() const { return validation_; }
    std::uint64_t validationWarnings() const { return counts_->warnings; }
    std::uint64_t validationErrors() const { return counts_->errors; }
    std::uint64_t validationMessages() const { return validationWarnings() + validationErrors(); }

private:
    Validation validation_;
    std::unique_ptr<ValidationCounts> counts_;  // stable address for the messenger callback
    UniqueHandle<VkInstance> instance_;
    UniqueHandle<VkDebugUtilsMessengerEXT> messenger_;
};

}  // namespace revnet
