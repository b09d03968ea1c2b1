#version 450
// Backward of avg_pool_2x2_forward.comp: dx[n][c][y][x] = dy[n][c + padBefore][y/2][x/2] / 4
// (the padded channels have no input to flow to). ACCUMULATE adds to dx.
// Layout: channels.glsl. Dispatch: channels.glsl's grid over (sample, input channel) rows; with
// VEC4 (W, offsets and strides multiples of 4) an item is 4 horizontal neighbours of dx. Under
// TEXELS (channels.glsl) dy is read through binding 2, an R32F texel view of it, and (VEC4 and
// ACCUMULATE) what dx held through binding 3, an RGBA32F one, each value by the invocation that
// then writes it.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) buffer DX { float dx[]; };
layout(binding = 1) buffer DX4 { vec4 dx4[]; };
layout(binding = 2) uniform samplerBuffer dyTexels;
layout(binding = 3, rgba32f) uniform readonly imageBuffer dxTexels;
float loadDy(uint i) { return TEXELS ? texelFetch(dyTexels, int(i)).r : dy[i]; }

layout(push_constant) uniform Push {
    uint N, C, H, W, Cout, padBefore;
    View dy, dx;
} p;

#define NOTHING(n, c)
#define SPREAD(n, c, i)                                                                           \
    {                                                                                             \
        const uint perRow = VEC4 ? p.W / 4 : p.W, OW = p.W / 2;                                   \
        const uint yy = divide(i, perRow, 1.0 / float(perRow)), xx = (i - yy * perRow) * (VEC4 ? 4 : 1); \
        const uint from = at(p.dy, n, c + p.padBefore, (p.H / 2) * OW, (yy / 2) * OW + xx / 2);    \
        const uint o = at(p.dx, n, c, p.H * p.W, yy * p.W + xx);                                  \
        if (VEC4) {                                                                               \
            const vec2 d = vec2(loadDy(from), loadDy(from + 1));                                  \
            const vec4 g = 0.25 * d.xxyy;                                                         \
            dx4[o / 4] = ACCUMULATE ? LOAD4(dx4, dxTexels, o / 4) + g : g;                        \
        } else {                                                                                  \
            const float g = 0.25 * loadDy(from);                                                  \
            dx[o] = ACCUMULATE ? dx[o] + g : g;                                                   \
        }                                                                                         \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.H * p.W, NOTHING, SPREAD) }
