// Fixed-point couplings (docs/NUMERICS.md): a reversible coupling's term rounded to a multiple of
// 2^-bits, so that y1 = x1 + q(F(x2)) and x1 = y1 - q(F(x2)) are exact in float32 while every
// value stays below 2^(24 - bits). Kernels that round write 1 to `overflow` (one uint) when a
// value reaches that bound: exactness is then lost, and the caller reports it.
#pragma once

#include "revnet/engine/tensor.hpp"

#include <cstdint>

namespace revnet::kernels {

struct FixedPoint {
    uint32_t bits;
    TensorView overflow;
};

// The magnitude below which values on the grid of 2^-bits add and subtract exactly in float32.
constexpr double exactBound(uint32_t bits) { return double(uint64_t{1} << (24 - bits)); }

}  // namespace revnet::kernels
