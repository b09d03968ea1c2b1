#include "revnet/engine/instance.hpp"

#include "engine/vulkan_error.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace revnet {

namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

bool instanceExtensionAvailable(const char* name) {
    uint32_t count = 0;
    vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> extensions(count);
    vkEnumerateInstanceExtensionProperties(nullptr, &count, extensions.data());
    for (const auto& e : extensions)
        if (std::strcmp(e.extensionName, name) == 0) return true;
    return false;
}

bool layerAvailable(const char* name) {
    uint32_t count = 0;
    vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> layers(count);
    vkEnumerateInstanceLayerProperties(&count, layers.data());
    for (const auto& layer : layers)
        if (std::strcmp(layer.layerName, name) == 0) return true;
    return false;
}

VKAPI_ATTR VkBool32 VKAPI_CALL onValidationMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                   void* user) {
    auto* counts = static_cast<ValidationCounts*>(user);
    const bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    (error ? counts->errors : counts->warnings) += 1;
    std::fprintf(stderr, "[vulkan validation %s] %s\n", error ? "error" : "warning", data->pMessage);
    return VK_FALSE;
}

VkDebugUtilsMessengerCreateInfoEXT messengerInfo(ValidationCounts* counts) {
    VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    info.pfnUserCallback = onValidationMessage;
    info.pUserData = counts;
    return info;
}

}  // namespace

Validation validationFromEnvironment() {
    const char* value = std::getenv("REVNET_VALIDATION");
    if (!value || !*value || std::strcmp(value, "0") == 0) return Validation::Off;
    if (std::strcmp(value, "sync") == 0) return Validation::Synchronization;
    if (std::strcmp(value, "1") == 0) return Validation::On;
    throw std::runtime_error(std::string("REVNET_VALIDATION=") + value +
                             " is not understood: use 0, 1 or sync");
}

Instance::Instance(Validation validation)
    : validation_(validation), counts_(std::make_unique<ValidationCounts>()) {
    const bool validate = validation != Validation::Off;
    if (validate && !layerAvailable(kValidationLayer))
        throw std::runtime_error(
            "validation was requested (REVNET_VALIDATION) but the Khronos validation layer is not "
            "installed: apt-get install vulkan-validationlayers");

    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "revnet-vk";
    app.pEngineName = "revnet-vk";
    app.apiVersion = VK_API_VERSION_1_1;

    std::vector<const char*> layers;
    std::vector<const char*> extensions;
    if (validate) {
        layers.push_back(kValidationLayer);
        extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    }

    // Portability drivers (MoltenVK on Apple devices) are listed only when asked for.
    const bool portability = instanceExtensionAvailable(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    if (portability) extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);

    VkValidationFeatureEnableEXT syncFeature = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    features.enabledValidationFeatureCount = 1;
    features.pEnabledValidationFeatures = &syncFeature;

    // Chained into instance creation so that vkCreateInstance itself is validated too.
    VkDebugUtilsMessengerCreateInfoEXT messenger = messengerInfo(counts_.get());
    if (validation == Validation::Synchronization) messenger.pNext = &features;

    VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    info.pNext = validate ? &messenger : nullptr;
    info.flags = portability ? VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR : 0;
    info.pApplicationInfo = &app;
    info.enabledLayerCount = static_cast<uint32_t>(layers.size());
    info.ppEnabledLayerNames = layers.data();
    info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    info.ppEnabledExtensionNames = extensions.data();

    VkInstance instance = VK_NULL_HANDLE;
    VkResult result = vkCreateInstance(&info, nullptr, &instance);
    if (result == VK_ERROR_INCOMPATIBLE_DRIVER)
        throw VulkanError(result, "vkCreateInstance",
                          "no Vulkan 1.1 driver found; on Debian, apt-get install mesa-vulkan-drivers "
                          "gives the lavapipe CPU device");
    check(result, "vkCreateInstance");
    instance_ = UniqueHandle<VkInstance>(instance, [](VkInstance i) { vkDestroyInstance(i, nullptr); });

    if (validate) {
        auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
        auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
        VkDebugUtilsMessengerEXT handle = VK_NULL_HANDLE;
        messenger.pNext = nullptr;
        check(create(instance, &messenger, nullptr, &handle), "vkCreateDebugUtilsMessengerEXT");
        messenger_ = UniqueHandle<VkDebugUtilsMessengerEXT>(
            handle, [instance, destroy](VkDebugUtilsMessengerEXT m) { destroy(instance, m, nullptr); });
    }
}

}  // namespace revnet
