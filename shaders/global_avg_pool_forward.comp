#version 450
// Global average pooling: y[n][c] = mean over the H*W plane of x[n][c]; y is dense N x C.
// Layout: channels.glsl (VEC4 loads when it allows). Dispatch: 1-D, one invocation per (sample,
// channel); a grid capped by the device's workgroup count loops over the rest.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x;
    uint yOffset;
} p;

void main() {
    for (uint e = gl_GlobalInvocationID.x; e < p.N * p.C; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint n = e / p.C, c = e % p.C;
        const uint start = at(p.x, n, c, p.plane, 0);
        float sum = 0.0;
        for (uint i = 0; i < planeItems(p.plane); ++i)
            sum += VEC4 ? dot(x4[item(start, i)], vec4(1.0)) : x[item(start, i)];
        y[p.yOffset + e] = sum / float(p.plane);
    }
}
