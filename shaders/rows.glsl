// Shared by the elementwise shaders. Every tensor view they touch is `rows` runs of `rowLength`
// contiguous floats, run r starting at element offset + r * stride: a whole tensor is one run,
// and a channel range of an NCHW tensor is one run per sample.
//
// Dispatch: one invocation per item. x covers a row's items in workgroup-size blocks; y and z
// together count the rows (z only when the rows exceed the device's y limit). No grid-stride
// loops: lavapipe runs a loop-free kernel at 75% of its copy bandwidth, a looping one at 45%.
// An item is a vec4 when VEC4 is set (the host sets it only when every offset, stride and the
// row length are multiples of 4), else a float. Specialization: 0 = workgroup size x, 2 = VEC4,
// 3 = TEXELS: vec4 inputs read through RGBA32F texel views of the same buffers (where every one
// fits the device's maxTexelBufferElements), which lavapipe gathers where it loads a storage
// buffer lane by lane: a copy ran 1.5-2x faster (docs/PERFORMANCE.md). Outputs stay storage buffers.

layout(local_size_x_id = 0) in;
layout(constant_id = 2) const bool VEC4 = false;
layout(constant_id = 3) const bool TEXELS = false;
#include "texel_loads.glsl"

// Items per row and the item index of element `offset`.
uint rowItems(uint rowLength) { return VEC4 ? rowLength / 4 : rowLength; }
uint itemIndex(uint offset) { return VEC4 ? offset / 4 : offset; }

// Runs BODY(row, item) for the item this invocation owns, if any.
#define FOR_OWN_ITEM(rows, rowLength, BODY)                                                    \
    const uint row_ = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;                \
    const uint item_ = gl_GlobalInvocationID.x;                                                \
    if (row_ < (rows) && item_ < rowItems(rowLength)) BODY(row_, item_)
