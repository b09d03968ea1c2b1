#include "engine/shader_library.hpp"

#include <stdexcept>
#include <string>

namespace revnet {

// Defined in the generated embedded_shaders.cpp.
extern const EmbeddedShader kEmbeddedShaders[];
extern const std::size_t kEmbeddedShaderCount;

std::span<const EmbeddedShader> embeddedShaders() { return {kEmbeddedShaders, kEmbeddedShaderCount}; }

namespace {

const EmbeddedShader& find(std::string_view name) {
    for (const auto& shader : embeddedShaders())
        if (name == shader.name) return shader;
    throw std::invalid_argument("no embedded shader named '" + std::string(name) + "'");
}

}  // namespace

std::span<const uint32_t> embeddedShader(std::string_view name) {
    const EmbeddedShader& shader = find(name);
    return {shader.words, shader.wordCount};
}

uint32_t constantId(std::string_view shader, std::string_view constant) {
    for (const auto& named : find(shader).constants)
        if (constant == named.name) return named.id;
    throw std::invalid_argument("shader " + std::string(shader) + " has no specialization constant named '" +
                                std::string(constant) + "'");
}

}  // namespace revnet
