#version 450
// Global average pooling: y[n][c] = mean over the H*W plane of x[n][c]; y is dense N x C.
// Layout: channels.glsl. Dispatch: one invocation per (sample, channel), 1-D.
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x;
    uint yOffset;
} p;

void main() {
    const uint e = gl_GlobalInvocationID.x;
    if (e >= p.N * p.C) return;
    const uint n = e / p.C, c = e % p.C;
    float sum = 0.0;
    for (uint i = 0; i < p.plane; ++i) sum += x[at(p.x, n, c, p.plane, i)];
    y[p.yOffset + e] = sum / float(p.plane);
}
