#include "engine/shader_library.hpp"

#include <stdexcept>
#include <string>

namespace revnet {

// Defined in the generated embedded_shaders.cpp.
extern const EmbeddedShader kEmbeddedShaders[];
extern const std::size_t kEmbeddedShaderCount;

std::span<const EmbeddedShader> embeddedShaders() { return {kEmbeddedShaders, kEmbeddedShaderCount}; }

std::span<const uint32_t> embeddedShader(std::string_view name) {
    for (const auto& shader : embeddedShaders())
        if (name == shader.name) return {shader.words, shader.wordCount};
    throw std::invalid_argument("no embedded shader named '" + std::string(name) + "'");
}

}  // namespace revnet
