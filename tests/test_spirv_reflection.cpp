#include "engine/shader_library.hpp"
#include "revnet/engine/spirv_reflection.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

using namespace revnet;

TEST_CASE("every shader is embedded and reflects to set-0 bindings", "[shaders]") {
    REQUIRE(embeddedShaders().size() >= 5);
    for (const auto& shader : embeddedShaders()) {
        INFO(shader.name);
        const ShaderInterface iface = reflect({shader.words, shader.wordCount});
        CHECK_FALSE(iface.bindings.empty());
        CHECK(iface.pushConstantBytes <= 128);
        CHECK(iface.localSize[0].specialized);  // workgroup size is a specialization constant
        CHECK_FALSE(iface.sharedArraySizedBySpecialization);  // MoltenVK miscompiles those
    }
    CHECK_THROWS_WITH(embeddedShader("no_such_shader"), Catch::Contains("no_such_shader"));
}

TEST_CASE("push-constant blocks reflect to their scalars, nested structs flattened", "[shaders]") {
    using K = ScalarKind;
    const auto scalars = [](const char* shader) { return reflect(embeddedShader(shader)).pushScalars; };
    CHECK(scalars("fill") == std::vector<PushScalar>{{0, K::Uint}, {4, K::Uint}, {8, K::Uint}, {12, K::Uint}, {16, K::Float}});
    // N, C, plane, View x {offset, sampleStride}, View y, three offsets, eps.
    std::vector<PushScalar> norm;
    for (uint32_t i = 0; i < 10; ++i) norm.push_back({4 * i, K::Uint});
    norm.push_back({40, K::Float});
    CHECK(scalars("batch_norm_forward") == norm);
    const auto gemm = scalars("conv2d_gemm_forward");
    CHECK(gemm.size() == 13);
    CHECK(std::all_of(gemm.begin(), gemm.end(), [](const PushScalar& s) { return s.kind == K::Int; }));
    // Every shader's scalars tile its block: 4 bytes apart from 0, as the host structs are laid out.
    for (const auto& shader : embeddedShaders()) {
        INFO(shader.name);
        const ShaderInterface iface = reflect({shader.words, shader.wordCount});
        for (std::size_t i = 0; i < iface.pushScalars.size(); ++i) CHECK(iface.pushScalars[i].offset == 4 * i);
        CHECK(iface.pushConstantBytes == 4 * iface.pushScalars.size());
    }
}

TEST_CASE("every specialization constant a shader uses has one name, the one its source gives", "[shaders]") {
    for (const auto& shader : embeddedShaders()) {
        INFO(shader.name);
        const ShaderInterface iface = reflect({shader.words, shader.wordCount});
        std::set<std::string> names;
        for (const auto& named : shader.constants) CHECK(names.insert(named.name).second);
        for (const auto& [id, value] : iface.specDefaults) {
            INFO("constant_id " << id);
            const auto count = std::count_if(shader.constants.begin(), shader.constants.end(),
                                             [&](const NamedConstant& c) { return c.id == id; });
            CHECK(count == 1);
        }
        CHECK(constantId(shader.name, "WORKGROUP_X") == iface.localSize[0].value);
    }
    // As the sources declare them (layout(constant_id = N) const T NAME), includes too.
    CHECK(constantId("conv2d_forward", "SUBTRACT") == 12);
    CHECK(constantId("conv2d_forward", "FIXED_BITS") == 13);  // from fixed_point.glsl
    CHECK(constantId("batch_norm_statistics", "PARTS") == 3);
    CHECK(constantId("batch_norm_forward", "VEC4") == 9);     // from channels.glsl
    CHECK(constantId("batch_norm_forward", "WORKGROUP_Y") == 10);
    CHECK_THROWS_WITH(constantId("sgd", "NESTEROW"), "shader sgd has no specialization constant named 'NESTEROW'");
}

TEST_CASE("reflection reads access qualifiers, push-constant size and specialization", "[shaders]") {
    const ShaderInterface axpby = reflect(embeddedShader("axpby"));
    // float and vec4 aliases merge into one binding each; then x and y again as texels
    REQUIRE(axpby.bindings.size() == 5);
    CHECK((axpby.bindings[0].reads && !axpby.bindings[0].writes));
    CHECK((axpby.bindings[1].reads && !axpby.bindings[1].writes));
    CHECK((!axpby.bindings[2].reads && axpby.bindings[2].writes));
    CHECK(axpby.bindings[2].binding == 2);
    CHECK(axpby.bindings[3].kind == DescriptorKind::StorageTexelBuffer);
    CHECK((axpby.bindings[4].reads && !axpby.bindings[4].writes));
    CHECK(axpby.pushConstantBytes == 10 * 4);
    CHECK(axpby.localSize[0].value == 0);  // constant_id 0
    CHECK(axpby.specDefaults.at(2) == 0);  // VEC4 = false

    // Texel buffers: a samplerBuffer reads R32F texels, an imageBuffer has its declared format.
    const ShaderInterface conv = reflect(embeddedShader("conv2d_forward"));
    // The input is bound twice (R32F texels and RGBA32F ones), then the fixed-point overflow flag,
    // the input's batch-norm statistics, gamma and beta, the output again as RGBA32F texels, and
    // the partials of its statistics (write-only).
    REQUIRE(conv.bindings.size() == 10);
    CHECK(conv.bindings[4].kind == DescriptorKind::StorageBuffer);
    CHECK(conv.bindings[0].kind == DescriptorKind::UniformTexelBuffer);
    CHECK(conv.bindings[0].format == TexelFormat::R32f);
    CHECK_FALSE(conv.bindings[0].writes);
    CHECK(conv.bindings[1].kind == DescriptorKind::StorageTexelBuffer);
    CHECK(conv.bindings[1].format == TexelFormat::Rgba32f);
    CHECK((conv.bindings[1].reads && !conv.bindings[1].writes));
    CHECK(conv.bindings[2].kind == DescriptorKind::StorageBuffer);
    CHECK(conv.bindings[2].writes);
    CHECK(conv.bindings[3].format == TexelFormat::Rgba32f);
    for (size_t b = 5; b < 8; ++b) CHECK((conv.bindings[b].reads && !conv.bindings[b].writes));
    CHECK(conv.bindings[8].kind == DescriptorKind::StorageTexelBuffer);
    CHECK(conv.bindings[8].format == TexelFormat::Rgba32f);
    CHECK((conv.bindings[8].reads && !conv.bindings[8].writes));
    CHECK(conv.bindings[9].kind == DescriptorKind::StorageBuffer);
    CHECK((!conv.bindings[9].reads && conv.bindings[9].writes));
    CHECK(conv.specDefaults.at(1) == 3);  // R

    const ShaderInterface fill = reflect(embeddedShader("fill"));
    CHECK(fill.pushConstantBytes == 5 * 4);
    REQUIRE(fill.bindings.size() == 1);
    CHECK_FALSE(fill.bindings[0].reads);

    std::vector<uint32_t> truncated(embeddedShader("fill").begin(), embeddedShader("fill").begin() + 40);
    CHECK_THROWS(reflect(truncated));
    CHECK_THROWS_WITH(reflect(std::vector<uint32_t>{1, 2, 3, 4, 5}), Catch::Contains("not a SPIR-V"));
}

namespace {
const uint32_t kSpecSizedShared[] = {
#include "spec_sized_shared.spv.inc"
};
}  // namespace

TEST_CASE("reflection finds a shared array sized by a specialization constant", "[shaders][portability]") {
    CHECK(reflect(kSpecSizedShared).sharedArraySizedBySpecialization);
    // The fixed-size shared arrays of the engine's reductions pass.
    CHECK_FALSE(reflect(embeddedShader("softmax_cross_entropy")).sharedArraySizedBySpecialization);
}
