#include "revnet/engine/pipelines.hpp"

#include "engine/shader_library.hpp"
#include "engine/vulkan_error.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unistd.h>
#include <vector>

namespace revnet {

namespace {

// Cache data that this device and driver did not write is dropped rather than handed over.
bool cacheMatchesDevice(const std::vector<char>& data, const DeviceInfo& info) {
    VkPipelineCacheHeaderVersionOne header{};
    if (data.size() < sizeof header) return false;
    std::memcpy(&header, data.data(), sizeof header);
    return header.headerSize >= sizeof header && header.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
           std::memcmp(header.pipelineCacheUUID, info.pipelineCacheUuid.data(), VK_UUID_SIZE) == 0;
}

std::vector<char> readFile(const std::filesystem::path& path) {
    if (!std::filesystem::is_regular_file(path)) return {};  // a device could be endless
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void requireTexelSupport(const Device& device, const ShaderBinding& b, const std::string& context) {
    VkFormatProperties properties{};
    vkGetPhysicalDeviceFormatProperties(device.physical(), texelFormat(b.format), &properties);
    const VkFormatFeatureFlags needed = b.kind == DescriptorKind::UniformTexelBuffer
                                            ? VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT
                                            : VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT;
    if (!(properties.bufferFeatures & needed))
        throw std::runtime_error(context + ": the device cannot use binding " + std::to_string(b.binding) +
                                 " as a texel buffer of its format");
}

}  // namespace

VkDescriptorType descriptorType(DescriptorKind kind) {
    switch (kind) {
        case DescriptorKind::StorageBuffer: return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        case DescriptorKind::UniformBuffer: return VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
        case DescriptorKind::UniformTexelBuffer: return VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
        case DescriptorKind::StorageTexelBuffer: return VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
    }
    throw std::logic_error("unknown descriptor kind");
}

VkFormat texelFormat(TexelFormat format) {
    return format == TexelFormat::Rgba32f ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
}

VkDeviceSize texelBytes(TexelFormat format) { return format == TexelFormat::Rgba32f ? 16 : 4; }

std::optional<std::string> pipelineCacheProblem(const std::filesystem::path& file) {
    std::error_code error;
    const auto status = std::filesystem::symlink_status(file, error);
    if (!std::filesystem::exists(status) || std::filesystem::is_regular_file(status)) return std::nullopt;
    return "the pipeline cache " + file.string() + " exists and is not a regular file: caching is off";
}

std::optional<std::filesystem::path> defaultPipelineCacheFile() {
    if (const char* path = std::getenv("REVNET_PIPELINE_CACHE"); path && *path) {
        if (std::strcmp(path, "none") == 0) return std::nullopt;
        return std::filesystem::path(path);
    }
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "revnet-vk" / "pipelines.bin";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".cache" / "revnet-vk" / "pipelines.bin";
    return std::nullopt;
}

Pipelines::Pipelines(const Device& device, std::optional<std::filesystem::path> cacheFile)
    : device_(device), cacheFile_(std::move(cacheFile)) {
    if (cacheFile_ && pipelineCacheProblem(*cacheFile_)) cacheFile_.reset();
    std::vector<char> data;
    if (cacheFile_) data = readFile(*cacheFile_);
    if (!cacheMatchesDevice(data, device.info())) data.clear();
    VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    info.initialDataSize = data.size();
    info.pInitialData = data.empty() ? nullptr : data.data();
    VkPipelineCache cache = VK_NULL_HANDLE;
    check(vkCreatePipelineCache(device.handle(), &info, nullptr, &cache), "vkCreatePipelineCache");
    VkDevice d = device.handle();
    cache_ = UniqueHandle<VkPipelineCache>(cache, [d](VkPipelineCache c) { vkDestroyPipelineCache(d, c, nullptr); });
}

Pipelines::~Pipelines() {
    try {
        save();
    } catch (...) {  // a cache that cannot be written only costs compile time next run
    }
}

void Pipelines::save() const {
    if (!cacheFile_) return;
    std::size_t size = 0;
    check(vkGetPipelineCacheData(device_.handle(), cache_.get(), &size, nullptr), "vkGetPipelineCacheData");
    std::vector<char> data(size);
    check(vkGetPipelineCacheData(device_.handle(), cache_.get(), &size, data.data()), "vkGetPipelineCacheData");
    if (pipelineCacheProblem(*cacheFile_)) return;  // only a regular file is replaced
    std::filesystem::create_directories(cacheFile_->parent_path());
    // A name of its own per process, so that concurrent runs never write one temporary file.
    const auto temporary = std::filesystem::path(cacheFile_->string() + "." + std::to_string(::getpid()) + ".tmp");
    std::error_code error;
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(size));
        if (!out.flush()) error = std::make_error_code(std::errc::io_error);
    }
    if (!error) std::filesystem::rename(temporary, *cacheFile_, error);
    if (error) {
        std::filesystem::remove(temporary, error);  // a partial file would keep a full disk full
        throw std::runtime_error("cannot write pipeline cache " + cacheFile_->string());
    }
}

const Kernel& Pipelines::get(ShaderName shader, const Specialization& specialization) {
    auto key = std::make_pair(std::string(shader.view()), specialization);
    auto it = kernels_.find(key);
    if (it == kernels_.end()) it = kernels_.emplace(std::move(key), create(shader, specialization)).first;
    return *it->second;
}

std::unique_ptr<Kernel> Pipelines::create(ShaderName shader, const Specialization& specialization) {
    const std::span<const uint32_t> spirv = embeddedShader(shader.view());
    VkDevice device = device_.handle();
    auto kernel = std::make_unique<Kernel>();
    kernel->name = shader.view();
    kernel->interface = reflect(spirv);
    const ShaderInterface& iface = kernel->interface;
    const std::string context = "shader " + kernel->name;

    std::map<uint32_t, uint32_t> values = iface.specDefaults;  // by constant_id
    for (const auto& [name, value] : specialization) {
        const uint32_t id = constantId(shader.view(), name.view());
        if (!iface.specDefaults.count(id))  // declared, but compiled out
            throw std::invalid_argument(context + " does not use specialization constant " + std::string(name.view()));
        values[id] = value;
    }
    for (int axis = 0; axis < 3; ++axis)
        kernel->localSize[axis] = iface.localSize[axis].specialized ? values.at(iface.localSize[axis].value)
                                                                    : iface.localSize[axis].value;
    const auto& limits = device_.info().limits;
    const uint64_t invocations = uint64_t{kernel->localSize[0]} * kernel->localSize[1] * kernel->localSize[2];
    for (int axis = 0; axis < 3; ++axis)
        if (kernel->localSize[axis] > limits.maxComputeWorkGroupSize[axis] ||
            invocations > limits.maxComputeWorkGroupInvocations)
            throw std::invalid_argument(context + ": workgroup size exceeds the device's limits");
    if (iface.pushConstantBytes > limits.maxPushConstantsSize)
        throw std::invalid_argument(context + ": push constants exceed the device's maxPushConstantsSize");

    std::vector<VkDescriptorSetLayoutBinding> bindings;
    for (const auto& b : iface.bindings) {
        VkDescriptorSetLayoutBinding binding{};
        binding.binding = b.binding;
        binding.descriptorType = descriptorType(b.kind);
        if (b.format != TexelFormat::None) requireTexelSupport(device_, b, context);
        binding.descriptorCount = 1;
        binding.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        bindings.push_back(binding);
    }
    VkDescriptorSetLayoutCreateInfo setInfo{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    setInfo.bindingCount = static_cast<uint32_t>(bindings.size());
    setInfo.pBindings = bindings.data();
    VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
    check(vkCreateDescriptorSetLayout(device, &setInfo, nullptr, &setLayout), "vkCreateDescriptorSetLayout", context);
    kernel->setLayout = UniqueHandle<VkDescriptorSetLayout>(
        setLayout, [device](VkDescriptorSetLayout l) { vkDestroyDescriptorSetLayout(device, l, nullptr); });

    VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, iface.pushConstantBytes};
    VkPipelineLayoutCreateInfo layoutInfo{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    layoutInfo.setLayoutCount = 1;
    layoutInfo.pSetLayouts = &setLayout;
    layoutInfo.pushConstantRangeCount = iface.pushConstantBytes ? 1 : 0;
    layoutInfo.pPushConstantRanges = &push;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    check(vkCreatePipelineLayout(device, &layoutInfo, nullptr, &layout), "vkCreatePipelineLayout", context);
    kernel->layout = UniqueHandle<VkPipelineLayout>(
        layout, [device](VkPipelineLayout l) { vkDestroyPipelineLayout(device, l, nullptr); });

    VkShaderModuleCreateInfo moduleInfo{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    moduleInfo.codeSize = spirv.size_bytes();
    moduleInfo.pCode = spirv.data();
    VkShaderModule module = VK_NULL_HANDLE;
    check(vkCreateShaderModule(device, &moduleInfo, nullptr, &module), "vkCreateShaderModule", context);
    UniqueHandle<VkShaderModule> moduleOwner(module, [device](VkShaderModule m) { vkDestroyShaderModule(device, m, nullptr); });

    std::vector<VkSpecializationMapEntry> entries;
    std::vector<uint32_t> data;
    for (const auto& [id, value] : values) {
        entries.push_back({id, static_cast<uint32_t>(data.size() * sizeof(uint32_t)), sizeof(uint32_t)});
        data.push_back(value);
    }
    VkSpecializationInfo specInfo{static_cast<uint32_t>(entries.size()), entries.data(),
                                  data.size() * sizeof(uint32_t), data.data()};

    VkComputePipelineCreateInfo pipelineInfo{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    pipelineInfo.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    pipelineInfo.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    pipelineInfo.stage.module = module;
    pipelineInfo.stage.pName = "main";
    pipelineInfo.stage.pSpecializationInfo = entries.empty() ? nullptr : &specInfo;
    pipelineInfo.layout = layout;
    VkPipeline pipeline = VK_NULL_HANDLE;
    check(vkCreateComputePipelines(device, cache_.get(), 1, &pipelineInfo, nullptr, &pipeline),
          "vkCreateComputePipelines", context);
    kernel->pipeline = UniqueHandle<VkPipeline>(pipeline, [device](VkPipeline p) { vkDestroyPipeline(device, p, nullptr); });
    return kernel;
}

}  // namespace revnet
