#version 450
// Batch norm applied with given statistics (the batch's in training, the running ones in
// inference), optionally fused with ReLU:
//   y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c];  RELU: y = max(y, 0)
// stats = [mean[C], var[C]]. y may be x (in place). Layout: channels.glsl.
// Dispatch: x covers a channel plane in workgroup-size blocks, y walks the (sample, channel) rows.
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool RELU = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Stats { float stats[]; };
layout(binding = 2) readonly buffer Gamma { float gamma[]; };
layout(binding = 3) readonly buffer Beta { float beta[]; };
layout(binding = 4) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x, y;
    uint statsOffset, gammaOffset, betaOffset;
    float eps;
} p;

void main() {
    for (uint row = gl_WorkGroupID.y; row < p.N * p.C; row += gl_NumWorkGroups.y) {
        const uint n = row / p.C, c = row % p.C;
        // (x - mean) first: folding the mean into a shift would cancel badly far from zero.
        const float mean = stats[p.statsOffset + c], shift = beta[p.betaOffset + c];
        const float scale = gamma[p.gammaOffset + c] * inversesqrt(stats[p.statsOffset + p.C + c] + p.eps);
        for (uint i = gl_GlobalInvocationID.x; i < p.plane; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
            const float v = (x[at(p.x, n, c, p.plane, i)] - mean) * scale + shift;
            y[at(p.y, n, c, p.plane, i)] = RELU ? max(v, 0.0) : v;
        }
    }
}
