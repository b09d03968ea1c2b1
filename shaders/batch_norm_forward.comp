#version 450
// Batch norm applied with given statistics (the batch's in training, the running ones in
// inference), optionally fused with ReLU:
//   y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c];  RELU: y = max(y, 0)
// stats = [mean[C], var[C]]. y may be x (in place). Layout: channels.glsl.
// Dispatch and specialization: channels.glsl; 1 = RELU. Binding 5 is x again, as texels (TEXELS).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
#include "channel_figures.glsl"
layout(constant_id = 1) const bool RELU = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) uniform samplerBuffer stats;  // channel_figures.glsl
layout(binding = 2) uniform samplerBuffer gamma;
layout(binding = 3) uniform samplerBuffer beta;
layout(binding = 4) writeonly buffer Y { float y[]; };
layout(binding = 4) writeonly buffer Y4 { vec4 y4[]; };
layout(binding = 5, rgba32f) uniform readonly imageBuffer xTexels;

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x, y;
    uint statsOffset, gammaOffset, betaOffset;
    float eps;
} p;

// (x - mean) first: folding the mean into a shift would cancel badly far from zero.
#define CHANNEL(n, c)                                                                             \
    const float mean = figure(stats, p.statsOffset + c), shift = figure(beta, p.betaOffset + c);   \
    const float scale = figure(gamma, p.gammaOffset + c) * inversesqrt(figure(stats, p.statsOffset + p.C + c) + p.eps); \
    const uint xStart = at(p.x, n, c, p.plane, 0), yStart = at(p.y, n, c, p.plane, 0);
#define NORMALIZE(n, c, i)                                                                        \
    {                                                                                             \
        const uint from = item(xStart, i), to = item(yStart, i);                                  \
        if (VEC4) {                                                                               \
            const vec4 v = (LOAD4(x4, xTexels, from) - mean) * scale + shift;                     \
            y4[to] = RELU ? max(v, vec4(0.0)) : v;                                                \
        } else {                                                                                  \
            const float v = (x[from] - mean) * scale + shift;                                     \
            y[to] = RELU ? max(v, 0.0) : v;                                                       \
        }                                                                                         \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.plane, CHANNEL, NORMALIZE) }
