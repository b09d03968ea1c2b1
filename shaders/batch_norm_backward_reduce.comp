#version 450
// Batch norm backward, first pass: per channel the parameter gradients
//   dbeta[c] = sum dy',  dgamma[c] = sum dy' * xhat,  xhat = (x - mean) / sqrt(var + eps)
// over N*H*W, where dy' = dy, or with RELU dy * (y > 0) for y the fused BN+ReLU output
// (recomputed from x, not stored). Sums in a fixed order (deterministic). Overwrites dgamma, dbeta,
// or with ACCUMULATE (spec 2: batch chunks after the first) adds to them.
// PARTS (spec 3) > 1, the split reduction: workgroup (c, part) sums the part's share of the samples
// into partials[part * C + c] (dbeta) and partials[(PARTS + part) * C + c] (dgamma), which
// reduce_parts.comp then sums in order.
// Layout: channels.glsl (VEC4 loads when the layout allows; bindings 8 and 9 are x and dy again,
// as texels, read under TEXELS). Dispatch: one workgroup per channel
// (x) and part (y); its size (spec 0) a power of two.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
#include "workgroup_sum.glsl"
layout(constant_id = 1) const bool RELU = false;
layout(constant_id = 2) const bool ACCUMULATE = false;
layout(constant_id = 3) const uint PARTS = 1;
// STEPS_N > 0 (spec 4, 5): the loops unrolled, STEPS_N samples by STEPS_I items an invocation,
// those past the part or the plane clamped in range and added as zeros. Loops load under a lane
// mask on lavapipe: unrolled, batch norm's backward pair (this and the apply pass) ran 11-16%
// faster at 16x16 and 8x8 planes, 3-4% at 32x32.
layout(constant_id = 4) const uint STEPS_N = 0;
layout(constant_id = 5) const uint STEPS_I = 0;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
layout(binding = 1) readonly buffer DY4 { vec4 dy4[]; };
layout(binding = 2) readonly buffer Stats { float stats[]; };
layout(binding = 3) readonly buffer Gamma { float gamma[]; };
layout(binding = 4) readonly buffer Beta { float beta[]; };
layout(binding = 5) buffer DGamma { float dgamma[]; };
layout(binding = 6) buffer DBeta { float dbeta[]; };
layout(binding = 7) writeonly buffer Partials { float partials[]; };
layout(binding = 8, rgba32f) uniform readonly imageBuffer xTexels;
layout(binding = 9, rgba32f) uniform readonly imageBuffer dyTexels;

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x, dy;
    uint statsOffset, gammaOffset, betaOffset, dgammaOffset, dbetaOffset;
    float eps;
    uint partialsOffset;
} p;

// Item i's terms (dy', dy' * xhat) of the rows starting at xStart and dyStart.
vec2 terms(uint xStart, uint dyStart, uint i, float mean, float invStd, float g, float b) {
    if (VEC4) {
        const vec4 xhat = (LOAD4(x4, xTexels, item(xStart, i)) - mean) * invStd;
        vec4 d = LOAD4(dy4, dyTexels, item(dyStart, i));
        if (RELU) d *= vec4(greaterThan(g * xhat + b, vec4(0.0)));
        return vec2(dot(d, vec4(1.0)), dot(d, xhat));
    }
    const float xhat = (x[item(xStart, i)] - mean) * invStd, loaded = dy[item(dyStart, i)];
    const float d = RELU && g * xhat + b <= 0.0 ? 0.0 : loaded;
    return vec2(d, d * xhat);
}

void main() {
    const uint c = gl_WorkGroupID.x, part = gl_WorkGroupID.y;
    const float mean = stats[p.statsOffset + c], invStd = inversesqrt(stats[p.statsOffset + p.C + c] + p.eps);
    const float g = gamma[p.gammaOffset + c], b = beta[p.betaOffset + c];
    const uint first = part * p.N / PARTS, end = (part + 1) * p.N / PARTS, items = planeItems(p.plane);
    vec2 s = vec2(0.0);  // (sum dy', sum dy' * xhat), over samples, then items: the same order either way
    if (STEPS_N > 0) {
        [[unroll]] for (uint k = 0; k < STEPS_N; ++k)
            [[unroll]] for (uint j = 0; j < STEPS_I; ++j) {
                const uint n = min(first + k, p.N - 1), i = gl_LocalInvocationID.x + j * gl_WorkGroupSize.x;
                const vec2 t = terms(at(p.x, n, c, p.plane, 0), at(p.dy, n, c, p.plane, 0), min(i, items - 1), mean, invStd, g, b);
                s += all(bvec2(first + k < end, i < items)) ? t : vec2(0.0);
            }
    } else {
        for (uint n = first; n < end; ++n)
            for (uint i = gl_LocalInvocationID.x; i < items; i += gl_WorkGroupSize.x)
                s += terms(at(p.x, n, c, p.plane, 0), at(p.dy, n, c, p.plane, 0), i, mean, invStd, g, b);
    }
    s = workgroupSum(s);
    if (gl_LocalInvocationID.x != 0) return;
    if (PARTS > 1) {
        partials[p.partialsOffset + part * p.C + c] = s.x;
        partials[p.partialsOffset + (PARTS + part) * p.C + c] = s.y;
        return;
    }
    dbeta[p.dbetaOffset + c] = ACCUMULATE ? dbeta[p.dbetaOffset + c] + s.x : s.x;
    dgamma[p.dgammaOffset + c] = ACCUMULATE ? dgamma[p.dgammaOffset + c] + s.y : s.y;
}
