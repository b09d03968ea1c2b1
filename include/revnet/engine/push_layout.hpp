// The 32-bit scalars of a host push-constant struct, found without naming its members: an
// aggregate's fields are counted and bound with structured bindings, nested aggregates
// flattened. Recorder::dispatch compares them with the shader's block (ShaderInterface's
// pushScalars), so a float where the shader reads a uint, or a member the host left out in the
// middle, fails as the dispatch is recorded instead of passing a same-sized struct.
#pragma once

#include "revnet/engine/spirv_reflection.hpp"

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace revnet {

namespace push_layout {

// Converts to any member type: T{AnyField{}...} compiles for as many fields as T has.
struct AnyField {
    template <typename T>
    operator T() const;
};

template <typename T, typename... Fields>
constexpr std::size_t fieldCount() {
    if constexpr (requires { T{Fields{}..., AnyField{}}; }) return fieldCount<T, Fields..., AnyField>();
    else return sizeof...(Fields);
}

template <typename T>
void flatten(const T& value, const std::byte* base, std::vector<PushScalar>& out);

template <typename... Members>
void flattenAll(const std::byte* base, std::vector<PushScalar>& out, const Members&... members) {
    (flatten(members, base, out), ...);
}

// Structured bindings need the count spelled out: up to 16 fields, more than any push block here.
template <typename T>
void flattenFields(const T& v, const std::byte* base, std::vector<PushScalar>& out) {
    constexpr std::size_t n = fieldCount<T>();
    static_assert(n >= 1 && n <= 16, "push-constant structs have 1 to 16 fields (and no arrays: name each scalar)");
    // clang-format off
    if constexpr (n == 1) { const auto& [a] = v; flattenAll(base, out, a); }
    else if constexpr (n == 2) { const auto& [a, b] = v; flattenAll(base, out, a, b); }
    else if constexpr (n == 3) { const auto& [a, b, c] = v; flattenAll(base, out, a, b, c); }
    else if constexpr (n == 4) { const auto& [a, b, c, d] = v; flattenAll(base, out, a, b, c, d); }
    else if constexpr (n == 5) { const auto& [a, b, c, d, e] = v; flattenAll(base, out, a, b, c, d, e); }
    else if constexpr (n == 6) { const auto& [a, b, c, d, e, f] = v; flattenAll(base, out, a, b, c, d, e, f); }
    else if constexpr (n == 7) { const auto& [a, b, c, d, e, f, g] = v; flattenAll(base, out, a, b, c, d, e, f, g); }
    else if constexpr (n == 8) { const auto& [a, b, c, d, e, f, g, h] = v; flattenAll(base, out, a, b, c, d, e, f, g, h); }
    else if constexpr (n == 9) { const auto& [a, b, c, d, e, f, g, h, i] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i); }
    else if constexpr (n == 10) { const auto& [a, b, c, d, e, f, g, h, i, j] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i, j); }
    else if constexpr (n == 11) { const auto& [a, b, c, d, e, f, g, h, i, j, k] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i, j, k); }
    else if constexpr (n == 12) { const auto& [a, b, c, d, e, f, g, h, i, j, k, l] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i, j, k, l); }
    else if constexpr (n == 13) { const auto& [a, b, c, d, e, f, g, h, i, j, k, l, m] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i, j, k, l, m); }
    else if constexpr (n == 14) { const auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, o] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i, j, k, l, m, o); }
    else if constexpr (n == 15) { const auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, o, p] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i, j, k, l, m, o, p); }
    else { const auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, o, p, q] = v; flattenAll(base, out, a, b, c, d, e, f, g, h, i, j, k, l, m, o, p, q); }
    // clang-format on
}

template <typename T>
void flatten(const T& value, const std::byte* base, std::vector<PushScalar>& out) {
    const auto offset = static_cast<uint32_t>(reinterpret_cast<const std::byte*>(&value) - base);
    if constexpr (std::is_same_v<T, uint32_t>) out.push_back({offset, ScalarKind::Uint});
    else if constexpr (std::is_same_v<T, int32_t>) out.push_back({offset, ScalarKind::Int});
    else if constexpr (std::is_same_v<T, float>) out.push_back({offset, ScalarKind::Float});
    else if constexpr (std::is_aggregate_v<T>) flattenFields(value, base, out);
    else static_assert(sizeof(T) == 0, "push constants are uint32_t, int32_t, float or structs of them");
}

}  // namespace push_layout

// The scalars of `push`, in member order (which is offset order).
template <typename Push>
std::vector<PushScalar> pushScalars(const Push& push) {
    std::vector<PushScalar> out;
    push_layout::flatten(push, reinterpret_cast<const std::byte*>(&push), out);
    return out;
}

}  // namespace revnet
