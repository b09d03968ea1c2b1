// Compute pipelines, one per shader and specialization, created on first use and reused. The
// Vulkan pipeline cache behind them can be loaded from and saved to disk.
#pragma once

#include "revnet/engine/device.hpp"
#include "revnet/engine/spirv_reflection.hpp"
#include "revnet/engine/unique_handle.hpp"

#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace revnet {

// A specialization constant by the name the shader's source gives it (a string literal:
// `layout(constant_id = N) const T NAME`; WORKGROUP_X and WORKGROUP_Y for local_size_*_id).
class ConstantName {
public:
    template <std::size_t N>
    constexpr ConstantName(const char (&name)[N]) : name_(name, N - 1) {}
    constexpr std::string_view view() const { return name_; }
    auto operator<=>(const ConstantName&) const = default;

private:
    std::string_view name_;
};

// Constant name -> value; workgroup sizes and tile shapes are specialization constants. A name the
// shader does not have fails at first use (Pipelines::get), not as a wrong constant set.
using Specialization = std::map<ConstantName, uint32_t>;

struct Kernel {
    std::string name;
    ShaderInterface interface;
    std::array<uint32_t, 3> localSize{1, 1, 1};
    UniqueHandle<VkDescriptorSetLayout> setLayout;
    UniqueHandle<VkPipelineLayout> layout;
    UniqueHandle<VkPipeline> pipeline;
};

class Pipelines {
public:
    // With a cache file, its contents seed the Vulkan pipeline cache (when they belong to this
    // device and driver) and save() writes it back.
    Pipelines(const Device& device, std::optional<std::filesystem::path> cacheFile);
    ~Pipelines();

    const Kernel& get(std::string_view shader, const Specialization& specialization = {});
    std::size_t size() const { return kernels_.size(); }
    const Device& device() const { return device_; }
    // Writes the pipeline cache atomically; does nothing without a cache file.
    void save() const;

private:
    std::unique_ptr<Kernel> create(std::string_view shader, const Specialization& specialization);

    const Device& device_;
    std::optional<std::filesystem::path> cacheFile_;
    UniqueHandle<VkPipelineCache> cache_;
    std::map<std::pair<std::string, Specialization>, std::unique_ptr<Kernel>, std::less<>> kernels_;
};

VkDescriptorType descriptorType(DescriptorKind kind);
VkFormat texelFormat(TexelFormat format);
VkDeviceSize texelBytes(TexelFormat format);

// $REVNET_PIPELINE_CACHE, else $XDG_CACHE_HOME/revnet-vk/pipelines.bin, else ~/.cache/...;
// "none" or no home directory gives no file.
std::optional<std::filesystem::path> defaultPipelineCacheFile();
// Why `file` cannot hold the cache (it exists and is a link, directory or device, which the cache
// must never replace), or nullopt. Pipelines then run without a cache file.
std::optional<std::string> pipelineCacheProblem(const std::filesystem::path& file);

}  // namespace revnet
