#version 450
// Backward of avg_pool_2x2_forward.comp: dx[n][c][y][x] = dy[n][c + padBefore][y/2][x/2] / 4
// (the padded channels have no input to flow to). ACCUMULATE adds to dx.
// Layout: channels.glsl. Dispatch: x covers an input plane, y walks (sample, input channel).
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint N, C, H, W, Cout, padBefore;
    View dy, dx;
} p;

void main() {
    const uint OW = p.W / 2, outPlane = (p.H / 2) * OW;
    for (uint row = gl_WorkGroupID.y; row < p.N * p.C; row += gl_NumWorkGroups.y) {
        const uint n = row / p.C, c = row % p.C;
        for (uint i = gl_GlobalInvocationID.x; i < p.H * p.W; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
            const float g = 0.25 * dy[at(p.dy, n, c + p.padBefore, outPlane, (i / p.W / 2) * OW + (i % p.W) / 2)];
            const uint o = at(p.dx, n, c, p.H * p.W, i);
            dx[o] = ACCUMULATE ? dx[o] + g : g;
        }
    }
}
