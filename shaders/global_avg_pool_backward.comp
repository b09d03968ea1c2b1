#version 450
// Backward of global average pooling: dx[n][c][i] = dy[n][c] / (H*W); ACCUMULATE adds to dx.
// Layout: channels.glsl. Dispatch: x covers a plane, y walks (sample, channel).
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    uint dyOffset;
    View dx;
} p;

void main() {
    for (uint row = gl_WorkGroupID.y; row < p.N * p.C; row += gl_NumWorkGroups.y) {
        const float g = dy[p.dyOffset + row] / float(p.plane);
        const uint n = row / p.C, c = row % p.C;
        for (uint i = gl_GlobalInvocationID.x; i < p.plane; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
            const uint o = at(p.dx, n, c, p.plane, i);
            dx[o] = ACCUMULATE ? dx[o] + g : g;
        }
    }
}
