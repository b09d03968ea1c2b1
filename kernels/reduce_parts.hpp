// The second half of a split reduction, shared by the kernels that split one: the `parts` partial
// results of `count` elements each (part q's element e at partials[firstPartial + q * count + e])
// summed in order into y[yOffset + e], or added to it (accumulate). reduce_parts.comp.
#pragma once

#include "revnet/engine/recording.hpp"
#include "revnet/engine/tensor.hpp"

#include <cstdint>

namespace revnet::kernels {

void sumParts(const Recording& rec, const TensorView& partials, uint32_t firstPartial, uint32_t count, uint32_t parts,
              const TensorView& y, uint32_t yOffset, bool accumulate);

}  // namespace revnet::kernels
