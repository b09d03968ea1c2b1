#version 450
// The ImageNet stem's max pooling: y[n][c][oy][ox] = max of x[n][c][2oy-1 .. 2oy+1][2ox-1 .. 2ox+1]
// (3x3 windows, stride 2, padding 1 that never wins), so OH = (H + 1) / 2 and OW = (W + 1) / 2.
// Layout: channels.glsl. Dispatch: channels.glsl's grid over (sample, channel) rows; an item is
// one output.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

#include "max_pool_window.glsl"  // reads x

layout(push_constant) uniform Push {
    uint N, C, H, W, OH, OW;
    View x, y;
} p;

#define NOTHING(n, c)
#define POOL(n, c, i)                                                                             \
    {                                                                                             \
        const uint oy = divide(i, p.OW, 1.0 / float(p.OW)), ox = i - oy * p.OW;                   \
        const uint plane = at(p.x, n, c, p.H * p.W, 0);                                           \
        y[at(p.y, n, c, p.OH * p.OW, i)] = x[plane + windowArgmax(plane, oy, ox, p.H, p.W)];      \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.OH * p.OW, NOTHING, POOL) }
