// Shared by the per-channel shaders (batch norm, pooling). A view is N samples of C channels of
// `plane` contiguous floats (H*W): channel c of sample n starts at offset + n*sampleStride + c*plane,
// so a channel range of a bigger tensor is a view too.
//
// Elementwise ones run one invocation per item: a workgroup is x invocations along a plane by y
// samples of one channel (so its per-channel set-up is uniform), the grid's x covering the plane,
// y the channels and z the samples in blocks of the workgroup's y. Small planes thus still make
// workgroups of a few hundred invocations (lavapipe pays for each workgroup: batch norm over 8x8
// planes ran 3x slower as one workgroup per plane). An item is a vec4 when VEC4 is set (the host
// sets it when the plane, offsets and strides are multiples of 4), else a float.
// Specialization: 0 = workgroup x, 10 = workgroup y (samples), 8 = ITEMS, 9 = VEC4, 11 = TEXELS.
//
// With TEXELS (vec4 items, every texel binding within the device's maxTexelBufferElements) the
// shaders read their vec4 inputs through RGBA32F texel views of the same buffers: lavapipe gathers
// texels where it loads a storage buffer lane by lane, and batch norm's forward pass took
// 0.57-0.75x the time (docs/PERFORMANCE.md). Outputs stay storage buffers.
layout(local_size_x_id = 0, local_size_y_id = 10) in;
layout(constant_id = 9) const bool VEC4 = false;
layout(constant_id = 11) const bool TEXELS = false;
#include "texel_loads.glsl"
layout(constant_id = 8) const uint ITEMS = 1;  // items per invocation, a workgroup's x apart

struct View { uint offset, sampleStride; };
uint at(View v, uint n, uint c, uint plane, uint i) { return v.offset + n * v.sampleStride + c * plane + i; }

uint planeItems(uint plane) { return VEC4 ? plane / 4 : plane; }
// The item index of element `start` (a multiple of 4 under VEC4) plus item i.
uint item(uint start, uint i) { return (VEC4 ? start / 4 : start) + i; }

// i / d for i < 2^22 without an integer division (which CPU devices do lane by lane): the
// rounding error of the float product stays below the 0.5/d margin the +0.5 leaves.
uint divide(uint i, uint d, float inverse) { return uint((float(i) + 0.5) * inverse); }

// Runs ROW(n, c) (per-channel set-up, whose declarations BODY sees) in every invocation, then
// BODY(n, c, i) for the (sample n, channel c) row and item i this invocation owns, if any. ROW
// must not load by n (c is always in range: the grid's y is the channel count). Outside any
// branch lavapipe loads with no lane mask; inside one, batch norm's forward pass ran 8-16% slower.
#define FOR_OWN_ROW_ITEM(N, C, plane, ROW, BODY)                                                   \
    const uint c_ = gl_WorkGroupID.y;                                                              \
    const uint n_ = gl_WorkGroupID.z * gl_WorkGroupSize.y + gl_LocalInvocationID.y;                \
    const uint i_ = gl_WorkGroupID.x * gl_WorkGroupSize.x * ITEMS + gl_LocalInvocationID.x;        \
    ROW(n_, c_)                                                                                    \
    if (n_ < (N) && i_ < planeItems(plane)) {                                                      \
        [[unroll]] for (uint k_ = 0; k_ < ITEMS; ++k_) {                                           \
            const uint item_ = i_ + k_ * gl_WorkGroupSize.x;                                       \
            if (item_ < planeItems(plane)) BODY(n_, c_, item_)                                     \
        }                                                                                          \
    }
