#version 450
// Backward of avg_pool_2x2_forward.comp: dx[n][c][y][x] = dy[n][c + padBefore][y/2][x/2] / 4
// (the padded channels have no input to flow to). ACCUMULATE adds to dx.
// Layout: channels.glsl. Dispatch: channels.glsl's grid over (sample, input channel) rows.
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint N, C, H, W, Cout, padBefore;
    View dy, dx;
} p;

#define NOTHING(n, c)
#define SPREAD(n, c, i)                                                                           \
    {                                                                                             \
        const uint yy = divide(i, p.W, 1.0 / float(p.W)), xx = i - yy * p.W, OW = p.W / 2;         \
        const float g = 0.25 * dy[at(p.dy, n, c + p.padBefore, (p.H / 2) * OW, (yy / 2) * OW + xx / 2)]; \
        const uint o = at(p.dx, n, c, p.H * p.W, i);                                              \
        dx[o] = ACCUMULATE ? dx[o] + g : g;                                                       \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.H * p.W, NOTHING, SPREAD) }
