#version 450
// Batch norm backward, first pass: per channel the parameter gradients
//   dbeta[c] = sum dy',  dgamma[c] = sum dy' * xhat,  xhat = (x - mean) / sqrt(var + eps)
// over N*H*W, where dy' = dy, or with RELU dy * (y > 0) for y the fused BN+ReLU output
// (recomputed from x, not stored). Sums in a fixed order (deterministic). Overwrites dgamma, dbeta.
// Layout: channels.glsl. Dispatch: one workgroup per channel; size (spec 0) a power of two.
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool RELU = false;

layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer dy;
layout(binding = 2) readonly buffer Stats { float stats[]; };
layout(binding = 3) readonly buffer Gamma { float gamma[]; };
layout(binding = 4) readonly buffer Beta { float beta[]; };
layout(binding = 5) writeonly buffer DGamma { float dgamma[]; };
layout(binding = 6) writeonly buffer DBeta { float dbeta[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x, dy;
    uint statsOffset, gammaOffset, betaOffset, dgammaOffset, dbetaOffset;
    float eps;
} p;

shared vec2 partial[gl_WorkGroupSize.x];  // (sum dy', sum dy' * xhat)

void main() {
    const uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    const float mean = stats[p.statsOffset + c], invStd = inversesqrt(stats[p.statsOffset + p.C + c] + p.eps);
    const float g = gamma[p.gammaOffset + c], b = beta[p.betaOffset + c];
    vec2 s = vec2(0.0);
    for (uint n = 0; n < p.N; ++n)
        for (uint i = t; i < p.plane; i += gl_WorkGroupSize.x) {
            const float xhat = (texelFetch(x, int(at(p.x, n, c, p.plane, i))).r - mean) * invStd;
            float d = texelFetch(dy, int(at(p.dy, n, c, p.plane, i))).r;
            if (RELU && g * xhat + b <= 0.0) d = 0.0;
            s += vec2(d, d * xhat);
        }
    partial[t] = s;
    for (uint half_ = gl_WorkGroupSize.x / 2; half_ > 0; half_ /= 2) {
        barrier();
        if (t < half_) partial[t] += partial[t + half_];
    }
    if (t != 0) return;
    dbeta[p.dbetaOffset + c] = partial[0].x;
    dgamma[p.dgammaOffset + c] = partial[0].y;
}
