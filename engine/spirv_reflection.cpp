#include "revnet/engine/spirv_reflection.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace revnet {

namespace {

// The few opcodes, decorations and storage classes this reads (SPIR-V specification, section 3).
enum Op : uint32_t {
    OpExecutionMode = 16, OpTypeInt = 21, OpTypeFloat = 22, OpTypeVector = 23, OpTypeArray = 28,
    OpTypeImage = 25, OpTypeSampledImage = 27, OpTypeStruct = 30, OpTypePointer = 32, OpConstant = 43, OpSpecConstantTrue = 48,
    OpSpecConstantFalse = 49, OpSpecConstant = 50,
    OpSpecConstantComposite = 51, OpSpecConstantOp = 52, OpVariable = 59, OpDecorate = 71, OpMemberDecorate = 72,
};
enum Decoration : uint32_t {
    SpecId = 1, Block = 2, BufferBlock = 3, ArrayStride = 6, BuiltIn = 11, NonWritable = 24,
    NonReadable = 25, Binding = 33, DescriptorSet = 34, Offset = 35,
};
enum StorageClass : uint32_t { UniformConstant = 0, Uniform = 2, Workgroup = 4, PushConstant = 9, StorageBuffer = 12 };
constexpr uint32_t kBuiltInWorkgroupSize = 25;
constexpr uint32_t kDimBuffer = 5, kFormatRgba32f = 1, kFormatR32f = 3;
constexpr uint32_t kExecutionModeLocalSize = 17;

struct Module {
    std::unordered_map<uint32_t, std::vector<uint32_t>> types;      // id -> opcode + operands
    std::unordered_map<uint32_t, uint32_t> constants;               // id -> value
    std::unordered_map<uint32_t, std::pair<uint32_t, uint32_t>> pointers;  // id -> (class, type)
    std::unordered_map<uint32_t, std::unordered_map<uint32_t, uint32_t>> decorations;  // id -> deco -> value
    std::unordered_map<uint32_t, std::unordered_map<uint32_t, std::unordered_map<uint32_t, uint32_t>>> members;
    std::unordered_map<uint32_t, uint32_t> specIds;                 // const id -> SpecId
    std::unordered_map<uint32_t, std::vector<uint32_t>> composites; // spec composite id -> parts
    std::unordered_set<uint32_t> specConstants;                     // ids whose value specialization sets
    std::vector<std::pair<uint32_t, uint32_t>> variables;           // (pointer type, id)
    uint32_t localSize[3] = {1, 1, 1};
};

bool has(const Module& m, uint32_t id, uint32_t decoration) {
    auto it = m.decorations.find(id);
    return it != m.decorations.end() && it->second.count(decoration);
}

bool allMembers(const Module& m, uint32_t structId, uint32_t decoration) {
    const auto& type = m.types.at(structId);
    const std::size_t count = type.size() - 1;
    auto it = m.members.find(structId);
    if (count == 0 || it == m.members.end()) return false;
    for (uint32_t i = 0; i < count; ++i) {
        auto member = it->second.find(i);
        if (member == it->second.end() || !member->second.count(decoration)) return false;
    }
    return true;
}

uint32_t sizeOf(const Module& m, uint32_t typeId) {
    const auto& t = m.types.at(typeId);
    switch (t[0]) {
        case OpTypeInt:
        case OpTypeFloat: return t[1] / 8;
        case OpTypeVector: return sizeOf(m, t[1]) * t[2];
        case OpTypeArray: return m.decorations.at(typeId).at(ArrayStride) * m.constants.at(t[2]);
        case OpTypeStruct: {
            uint32_t size = 0;
            for (uint32_t i = 1; i < t.size(); ++i)
                size = std::max(size, m.members.at(typeId).at(i - 1).at(Offset) + sizeOf(m, t[i]));
            return size;
        }
        default: throw std::runtime_error("SPIR-V reflection: unsupported type in push constants");
    }
}

// The 32-bit scalars of a push-constant type at `offset`, in order.
void flatten(const Module& m, uint32_t typeId, uint32_t offset, std::vector<PushScalar>& out) {
    const auto& t = m.types.at(typeId);
    switch (t[0]) {
        case OpTypeInt:
        case OpTypeFloat:
            if (t[1] != 32) throw std::runtime_error("SPIR-V reflection: push constants must be 32-bit scalars");
            out.push_back({offset, t[0] == OpTypeFloat ? ScalarKind::Float : t[2] ? ScalarKind::Int : ScalarKind::Uint});
            return;
        case OpTypeVector:
            for (uint32_t i = 0; i < t[2]; ++i) flatten(m, t[1], offset + i * sizeOf(m, t[1]), out);
            return;
        case OpTypeArray:
            for (uint32_t i = 0; i < m.constants.at(t[2]); ++i)
                flatten(m, t[1], offset + i * m.decorations.at(typeId).at(ArrayStride), out);
            return;
        case OpTypeStruct:
            for (uint32_t i = 1; i < t.size(); ++i) flatten(m, t[i], offset + m.members.at(typeId).at(i - 1).at(Offset), out);
            return;
        default: throw std::runtime_error("SPIR-V reflection: unsupported type in push constants");
    }
}

Module parse(std::span<const uint32_t> words) {
    if (words.size() < 5 || words[0] != 0x07230203u) throw std::runtime_error("not a SPIR-V module");
    Module m;
    for (std::size_t i = 5; i < words.size();) {
        const uint32_t count = words[i] >> 16, op = words[i] & 0xffffu;
        if (count == 0 || i + count > words.size()) throw std::runtime_error("truncated SPIR-V module");
        const uint32_t* w = &words[i];
        switch (op) {
            case OpTypeInt: case OpTypeFloat: case OpTypeVector: case OpTypeArray: case OpTypeStruct:
            case OpTypeImage: case OpTypeSampledImage:
                m.types[w[1]] = std::vector<uint32_t>{op};
                m.types[w[1]].insert(m.types[w[1]].end(), w + 2, w + count);
                break;
            case OpTypePointer: m.pointers[w[1]] = {w[2], w[3]}; break;
            case OpConstant: m.constants[w[2]] = w[3]; break;
            case OpSpecConstant: m.constants[w[2]] = w[3], m.specConstants.insert(w[2]); break;
            case OpSpecConstantTrue: m.constants[w[2]] = 1, m.specConstants.insert(w[2]); break;
            case OpSpecConstantFalse: m.constants[w[2]] = 0, m.specConstants.insert(w[2]); break;
            case OpSpecConstantOp: m.specConstants.insert(w[2]); break;
            case OpSpecConstantComposite:
                m.composites[w[2]].assign(w + 3, w + count);
                m.specConstants.insert(w[2]);
                break;
            case OpVariable: m.variables.emplace_back(w[1], w[2]); break;
            case OpDecorate: m.decorations[w[1]][w[2]] = count > 3 ? w[3] : 0; break;
            case OpMemberDecorate: m.members[w[1]][w[2]][w[3]] = count > 4 ? w[4] : 0; break;
            case OpExecutionMode:
                if (w[2] == kExecutionModeLocalSize) std::copy(w + 3, w + 6, m.localSize);
                break;
            default: break;
        }
        i += count;
    }
    return m;
}

// Whether `typeId` is, or holds, an array whose length specialization sets.
bool sizedBySpecialization(const Module& m, uint32_t typeId) {
    const auto it = m.types.find(typeId);
    if (it == m.types.end()) return false;
    const auto& t = it->second;
    if (t[0] == OpTypeArray) return m.specConstants.count(t[2]) || sizedBySpecialization(m, t[1]);
    if (t[0] == OpTypeStruct)
        return std::any_of(t.begin() + 1, t.end(), [&](uint32_t member) { return sizedBySpecialization(m, member); });
    return false;
}

ShaderBinding texelBinding(const Module& m, uint32_t type, uint32_t id) {
    const std::vector<uint32_t>* t = &m.types.at(type);
    if ((*t)[0] == OpTypeSampledImage) t = &m.types.at((*t)[1]);
    // OpTypeImage operands after the opcode: sampled type, dim, depth, arrayed, MS, sampled, format.
    if ((*t)[0] != OpTypeImage || (*t)[2] != kDimBuffer)
        throw std::runtime_error("SPIR-V reflection: only texel buffers are supported among images");
    ShaderBinding b;
    b.binding = m.decorations.at(id).at(Binding);
    if ((*t)[6] == 1) {
        b.kind = DescriptorKind::UniformTexelBuffer;
        b.format = TexelFormat::R32f;
        b.writes = false;
        return b;
    }
    b.kind = DescriptorKind::StorageTexelBuffer;
    if ((*t)[7] == kFormatRgba32f) b.format = TexelFormat::Rgba32f;
    else if ((*t)[7] == kFormatR32f) b.format = TexelFormat::R32f;
    else throw std::runtime_error("SPIR-V reflection: a storage texel buffer must be r32f or rgba32f");
    b.writes = !has(m, id, NonWritable);
    b.reads = !has(m, id, NonReadable);
    return b;
}

}  // namespace

ShaderInterface reflect(std::span<const uint32_t> spirv) {
    const Module m = parse(spirv);
    ShaderInterface out;

    for (const auto& [id, deco] : m.decorations)
        if (deco.count(SpecId)) out.specDefaults[deco.at(SpecId)] = m.constants.count(id) ? m.constants.at(id) : 0;

    for (int axis = 0; axis < 3; ++axis) out.localSize[axis].value = m.localSize[axis];
    for (const auto& [id, parts] : m.composites) {
        if (!has(m, id, BuiltIn) || m.decorations.at(id).at(BuiltIn) != kBuiltInWorkgroupSize) continue;
        for (int axis = 0; axis < 3 && axis < static_cast<int>(parts.size()); ++axis) {
            const uint32_t part = parts[axis];
            if (has(m, part, SpecId)) out.localSize[axis] = {true, m.decorations.at(part).at(SpecId)};
            else out.localSize[axis] = {false, m.constants.at(part)};
        }
    }

    for (const auto& [pointerType, id] : m.variables) {
        const auto [storage, type] = m.pointers.at(pointerType);
        if (storage == PushConstant) {
            out.pushConstantBytes = sizeOf(m, type);
            flatten(m, type, 0, out.pushScalars);
            std::sort(out.pushScalars.begin(), out.pushScalars.end(),
                      [](const PushScalar& a, const PushScalar& b) { return a.offset < b.offset; });
            continue;
        }
        if (storage == Workgroup) {
            out.sharedArraySizedBySpecialization |= sizedBySpecialization(m, type);
            continue;
        }
        if (storage != Uniform && storage != StorageBuffer && storage != UniformConstant) continue;
        if (has(m, id, DescriptorSet) && m.decorations.at(id).at(DescriptorSet) != 0)
            throw std::runtime_error("SPIR-V reflection: only descriptor set 0 is supported");
        ShaderBinding b;
        b.binding = m.decorations.at(id).at(Binding);
        if (storage == UniformConstant) {
            b = texelBinding(m, type, id);
        } else {
            const bool isStorage = storage == StorageBuffer || has(m, type, BufferBlock);
            b.kind = isStorage ? DescriptorKind::StorageBuffer : DescriptorKind::UniformBuffer;
            b.writes = isStorage && !has(m, id, NonWritable) && !allMembers(m, type, NonWritable);
            b.reads = !has(m, id, NonReadable) && !allMembers(m, type, NonReadable);
        }

        // Two blocks may alias one binding (a float and a vec4 view of the same buffer).
        auto same = std::find_if(out.bindings.begin(), out.bindings.end(),
                                 [&](const ShaderBinding& x) { return x.binding == b.binding; });
        if (same == out.bindings.end()) {
            out.bindings.push_back(b);
        } else {
            same->reads = same->reads || b.reads;
            same->writes = same->writes || b.writes;
        }
    }
    std::sort(out.bindings.begin(), out.bindings.end(),
              [](const ShaderBinding& a, const ShaderBinding& b) { return a.binding < b.binding; });
    return out;
}

}  // namespace revnet
