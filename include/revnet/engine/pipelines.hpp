// Compute pipelines, one per shader and specialization, created on first use and reused. The
// Vulkan pipeline cache behind them can be loaded from and saved to disk.
#pragma once

#include "revnet/engine/device.hpp"
#include "revnet/engine/shader_names.hpp"
#include "revnet/engine/spirv_reflection.hpp"
#include "revnet/engine/unique_handle.hpp"

#include <array>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace revnet {

namespace detail {
consteval bool listed(std::span<const std::string_view> names, std::string_view name) {
    for (std::string_view n : names)
        if (n == name) return true;
    return false;
}
}  // namespace detail

// A shader by its file name in shaders/ without .comp, made from a string literal that is checked
// as the program compiles: a name no embedded shader has is a compile error, not a failure at run
// time.
class ShaderName {
public:
    consteval ShaderName(const char* name) : name_(name) {
        if (!detail::listed(embedded::kShaderNames, name_)) throw "no shader in shaders/ has this name";
    }
    constexpr std::string_view view() const { return name_; }
    constexpr operator std::string_view() const { return name_; }  // for messages naming the kernel

private:
    std::string_view name_;
};

// A specialization constant by the name the shader's source gives it (a string literal:
// `layout(constant_id = N) const T NAME`; WORKGROUP_X and WORKGROUP_Y for local_size_*_id). A
// name no shader declares is a compile error; one that another shader declares fails at first use
// (Pipelines::get).
class ConstantName {
public:
    consteval ConstantName(const char* name) : name_(name) {
        if (!detail::listed(embedded::kConstantNames, name_)) throw "no shader declares this specialization constant";
    }
    constexpr std::string_view view() const { return name_; }
    auto operator<=>(const ConstantName&) const = default;

private:
    std::string_view name_;
};

// Constant name -> value; workgroup sizes and tile shapes are specialization constants:
// `{{"WORKGROUP_X", 64}, {"VEC4", 1}}`.
class Specialization {
public:
    struct Constant {
        ConstantName name;
        uint32_t value;
    };
    Specialization() = default;
    Specialization(std::initializer_list<Constant> constants) {
        for (const Constant& c : constants) values_.insert_or_assign(c.name, c.value);
    }
    uint32_t& operator[](ConstantName name) { return values_[name]; }
    auto begin() const { return values_.begin(); }
    auto end() const { return values_.end(); }
    auto operator<=>(const Specialization&) const = default;
    bool operator==(const Specialization&) const = default;

private:
    std::map<ConstantName, uint32_t> values_;
};

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

    const Kernel& get(ShaderName shader, const Specialization& specialization = {});
    std::size_t size() const { return kernels_.size(); }
    const Device& device() const { return device_; }
    // Writes the pipeline cache atomically; does nothing without a cache file.
    void save() const;

private:
    std::unique_ptr<Kernel> create(ShaderName shader, const Specialization& specialization);

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
