#include "kernels/reduce_parts.hpp"

#include "kernels/dispatch.hpp"

namespace revnet::kernels {

void sumParts(const Recording& rec, const TensorView& partials, uint32_t firstPartial, uint32_t count, uint32_t parts,
              const TensorView& y, uint32_t yOffset, bool accumulate) {
    struct Push {
        uint32_t count, parts, xOffset, yOffset;
    } push{count, parts, firstPartial, yOffset};
    const uint32_t local = workgroupAtMost(rec.device(), 64);
    // The partials as texels where they fit (reduce_parts.comp).
    const bool texels = fitsTexels(rec.device(), partials, 1);
    const Kernel& kernel = rec.pipelines.get("reduce_parts", {{"WORKGROUP_X", local}, {"ACCUMULATE", accumulate ? 1u : 0u},
                                                              {"TEXELS", texels ? 1u : 0u}});
    rec.recorder.dispatch(kernel, {partials, y, texelBinding(texels, partials)}, push, {groupsFor(rec.device(), count, local), 1, 1});
}

}  // namespace revnet::kernels
