#version 450
// Batch norm backward (training mode), second pass, given dgamma and dbeta from the first:
//   dx = gamma * invStd * (dy' - (dbeta + xhat * dgamma) / M),   M = N*H*W
// with dy' = dy, or dy * (y > 0) when fused with ReLU (y recomputed from x). ACCUMULATE adds to
// dx instead of overwriting it (a residual branch's gradient joining the identity's). dx may be
// dy. Layout: channels.glsl. Dispatch: as batch_norm_forward.comp.
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool RELU = false;
layout(constant_id = 2) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
layout(binding = 2) readonly buffer Stats { float stats[]; };
layout(binding = 3) readonly buffer Gamma { float gamma[]; };
layout(binding = 4) readonly buffer Beta { float beta[]; };
layout(binding = 5) readonly buffer DGamma { float dgamma[]; };
layout(binding = 6) readonly buffer DBeta { float dbeta[]; };
layout(binding = 7) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x, dy, dx;
    uint statsOffset, gammaOffset, betaOffset, dgammaOffset, dbetaOffset;
    float eps;
} p;

void main() {
    const float invCount = 1.0 / float(p.N * p.plane);
    for (uint row = gl_WorkGroupID.y; row < p.N * p.C; row += gl_NumWorkGroups.y) {
        const uint n = row / p.C, c = row % p.C;
        const float mean = stats[p.statsOffset + c], invStd = inversesqrt(stats[p.statsOffset + p.C + c] + p.eps);
        const float g = gamma[p.gammaOffset + c], b = beta[p.betaOffset + c];
        const float sumDy = dbeta[p.dbetaOffset + c] * invCount, sumDyXhat = dgamma[p.dgammaOffset + c] * invCount;
        for (uint i = gl_GlobalInvocationID.x; i < p.plane; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
            const float xhat = (x[at(p.x, n, c, p.plane, i)] - mean) * invStd;
            float d = dy[at(p.dy, n, c, p.plane, i)];
            if (RELU && g * xhat + b <= 0.0) d = 0.0;
            const float grad = g * invStd * (d - sumDy - xhat * sumDyXhat);
            const uint o = at(p.dx, n, c, p.plane, i);
            dx[o] = ACCUMULATE ? dx[o] + grad : grad;
        }
    }
}
