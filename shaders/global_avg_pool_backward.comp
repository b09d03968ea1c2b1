#version 450
// Backward of global average pooling: dx[n][c][i] = dy[n][c] / (H*W); ACCUMULATE adds to dx.
// Layout: channels.glsl. Dispatch: channels.glsl's grid over (sample, channel) rows.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) buffer DX { float dx[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    uint dyOffset;
    View dx;
} p;

#define NOTHING(n, c)
#define SPREAD(n, c, i)                                                                           \
    {                                                                                             \
        const float g = dy[p.dyOffset + n * p.C + c] / float(p.plane);                            \
        const uint o = at(p.dx, n, c, p.plane, i);                                                \
        dx[o] = ACCUMULATE ? dx[o] + g : g;                                                       \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.plane, NOTHING, SPREAD) }
