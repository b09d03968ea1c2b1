// What the engine reads from a compute shader's SPIR-V instead of repeating it by hand: its
// bindings and whether each is read or written (for descriptor layouts and automatic barriers),
// its push-constant size (checked against the host struct), and its specialization constants.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace revnet {

// Texel buffers are how lavapipe loads fastest (see ../shared/notes/lavapipe.md): a uniform
// texel buffer (textureBuffer, texelFetch) is read as R32F; a storage texel buffer (imageBuffer)
// has the format its layout qualifier names (r32f or rgba32f).
enum class DescriptorKind { StorageBuffer, UniformBuffer, UniformTexelBuffer, StorageTexelBuffer };
enum class TexelFormat { None, R32f, Rgba32f };

struct ShaderBinding {
    uint32_t binding = 0;
    DescriptorKind kind = DescriptorKind::StorageBuffer;
    TexelFormat format = TexelFormat::None;  // texel buffers only
    bool reads = true;
    bool writes = true;
};

// One 32-bit scalar of a push-constant block, nested structs and vectors flattened: the host
// struct filling the block must have the same scalars at the same offsets (push_layout.hpp).
enum class ScalarKind { Uint, Int, Float };
struct PushScalar {
    uint32_t offset = 0;
    ScalarKind kind = ScalarKind::Uint;
    bool operator==(const PushScalar&) const = default;
};

struct ShaderInterface {
    std::vector<ShaderBinding> bindings;  // sorted by binding, set 0 only
    uint32_t pushConstantBytes = 0;
    std::vector<PushScalar> pushScalars;  // in offset order
    std::map<uint32_t, uint32_t> specDefaults;  // constant_id -> default value (32-bit constants)
    // Workgroup size: each axis a constant_id (from local_size_*_id) or a fixed value.
    struct Axis { bool specialized = false; uint32_t value = 1; };
    Axis localSize[3];
    // A shared (Workgroup) array whose length is a specialization constant: older MoltenVK and
    // SPIRV-Cross miscompile it, so no shader of the engine may have one.
    bool sharedArraySizedBySpecialization = false;
};

ShaderInterface reflect(std::span<const uint32_t> spirv);

}  // namespace revnet
