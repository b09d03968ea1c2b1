#version 450
// The RevNet/ResNet downsampling shortcut: 2x2 average pooling with stride 2, then zero channels
// padded around the result:
//   y[n][o][i][j] = mean of x[n][o - padBefore][2i..2i+1][2j..2j+1]  for o - padBefore in [0, C)
//                 = 0                                              otherwise
// x is N x C x H x W (H, W even), y N x Cout x H/2 x W/2. Layout: channels.glsl.
// Dispatch: x covers an output plane in workgroup-size blocks, y walks (sample, output channel).
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    uint N, C, H, W, Cout, padBefore;
    View x, y;
} p;

void main() {
    const uint OW = p.W / 2, outPlane = (p.H / 2) * OW;
    for (uint row = gl_WorkGroupID.y; row < p.N * p.Cout; row += gl_NumWorkGroups.y) {
        const uint n = row / p.Cout, o = row % p.Cout;
        const bool inside = o >= p.padBefore && o - p.padBefore < p.C;
        for (uint i = gl_GlobalInvocationID.x; i < outPlane; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
            float v = 0.0;
            if (inside) {
                const uint top = at(p.x, n, o - p.padBefore, p.H * p.W, (i / OW) * 2 * p.W + (i % OW) * 2);
                v = 0.25 * (x[top] + x[top + 1] + x[top + p.W] + x[top + p.W + 1]);
            }
            y[at(p.y, n, o, outPlane, i)] = v;
        }
    }
}
