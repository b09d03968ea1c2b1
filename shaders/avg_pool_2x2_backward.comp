#version 450
// Backward of avg_pool_2x2_forward.comp: dx[n][c][y][x] = dy[n][c + padBefore][y/2][x/2] / 4
// (the padded channels have no input to flow to). ACCUMULATE adds to dx.
// Layout: channels.glsl. Dispatch: channels.glsl's grid over (sample, input channel) rows; with
// VEC4 (W, offsets and strides multiples of 4) an item is 4 horizontal neighbours of dx.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) buffer DX { float dx[]; };
layout(binding = 1) buffer DX4 { vec4 dx4[]; };

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
            const vec4 g = 0.25 * vec4(dy[from], dy[from], dy[from + 1], dy[from + 1]);           \
            dx4[o / 4] = ACCUMULATE ? dx4[o / 4] + g : g;                                         \
        } else {                                                                                  \
            const float g = 0.25 * dy[from];                                                      \
            dx[o] = ACCUMULATE ? dx[o] + g : g;                                                   \
        }                                                                                         \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.H * p.W, NOTHING, SPREAD) }
