#version 450
// Batch norm backward (training mode), second pass, given dgamma and dbeta from the first:
//   dx = gamma * invStd * (dy' - (dbeta + xhat * dgamma) / M),   M = totalSamples*H*W
// (a dispatch may cover a chunk of N of the batch's totalSamples samples)
// with dy' = dy, or dy * (y > 0) when fused with ReLU (y recomputed from x). ACCUMULATE adds to
// dx instead of overwriting it (a residual branch's gradient joining the identity's). dx may be
// dy. Layout, dispatch and specialization: channels.glsl; 1 = RELU, 2 = ACCUMULATE. Bindings 8
// and 9 are x and dy again, as texels (TEXELS).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
#include "channel_figures.glsl"
layout(constant_id = 1) const bool RELU = false;
layout(constant_id = 2) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
layout(binding = 1) readonly buffer DY4 { vec4 dy4[]; };
layout(binding = 2) uniform samplerBuffer stats;  // channel_figures.glsl
layout(binding = 3) uniform samplerBuffer gamma;
layout(binding = 4) uniform samplerBuffer beta;
layout(binding = 5) uniform samplerBuffer dgamma;
layout(binding = 6) uniform samplerBuffer dbeta;
layout(binding = 7) buffer DX { float dx[]; };
layout(binding = 7) buffer DX4 { vec4 dx4[]; };
layout(binding = 8, rgba32f) uniform readonly imageBuffer xTexels;
layout(binding = 9, rgba32f) uniform readonly imageBuffer dyTexels;

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x, dy, dx;
    uint statsOffset, gammaOffset, betaOffset, dgammaOffset, dbetaOffset;
    float eps;
    uint totalSamples;
} p;

#define CHANNEL(n, c)                                                                             \
    const float invCount = 1.0 / float(p.totalSamples * p.plane);                                            \
    const float mean = figure(stats, p.statsOffset + c);                                          \
    const float invStd = inversesqrt(figure(stats, p.statsOffset + p.C + c) + p.eps);             \
    const float g = figure(gamma, p.gammaOffset + c), b = figure(beta, p.betaOffset + c);         \
    const float meanDy = figure(dbeta, p.dbetaOffset + c) * invCount;                             \
    const float meanDyXhat = figure(dgamma, p.dgammaOffset + c) * invCount;                       \
    const uint xStart = at(p.x, n, c, p.plane, 0), dyStart = at(p.dy, n, c, p.plane, 0);          \
    const uint dxStart = at(p.dx, n, c, p.plane, 0);
#define GRADIENT(n, c, i)                                                                         \
    {                                                                                             \
        const uint xi = item(xStart, i), dyi = item(dyStart, i), dxi = item(dxStart, i);          \
        if (VEC4) {                                                                               \
            const vec4 xhat = (LOAD4(x4, xTexels, xi) - mean) * invStd;                           \
            vec4 d = LOAD4(dy4, dyTexels, dyi);                                                   \
            if (RELU) d *= vec4(greaterThan(g * xhat + b, vec4(0.0)));                            \
            const vec4 grad = g * invStd * (d - meanDy - xhat * meanDyXhat);                      \
            dx4[dxi] = ACCUMULATE ? dx4[dxi] + grad : grad;                                       \
        } else {                                                                                  \
            const float xhat = (x[xi] - mean) * invStd;                                           \
            float d = dy[dyi];                                                                    \
            if (RELU && g * xhat + b <= 0.0) d = 0.0;                                             \
            const float grad = g * invStd * (d - meanDy - xhat * meanDyXhat);                     \
            dx[dxi] = ACCUMULATE ? dx[dxi] + grad : grad;                                         \
        }                                                                                         \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.plane, CHANNEL, GRADIENT) }
