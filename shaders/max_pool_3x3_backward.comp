#version 450
// Backward of max_pool_3x3_forward.comp: dx[n][c][iy][ix] = the sum of dy over the (up to 2x2)
// windows that cover (iy, ix) and have their maximum there (max_pool_window.glsl's argmax, from
// x, the forward's input). Gathered per input element: no atomics, deterministic. ACCUMULATE
// adds to dx. Layout: channels.glsl. Dispatch: channels.glsl's grid over (sample, channel) rows;
// an item is one input element.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
layout(binding = 2) buffer DX { float dx[]; };

#include "max_pool_window.glsl"  // reads x

layout(push_constant) uniform Push {
    uint N, C, H, W, OH, OW;
    View x, dy, dx;
} p;

#define NOTHING(n, c)
#define GATHER(n, c, i)                                                                           \
    {                                                                                             \
        const uint iy = divide(i, p.W, 1.0 / float(p.W)), ix = i - iy * p.W;                      \
        const uint plane = at(p.x, n, c, p.H * p.W, 0), from = at(p.dy, n, c, p.OH * p.OW, 0);    \
        float g = 0.0;                                                                            \
        /* Windows oy with 2oy - 1 <= iy <= 2oy + 1, likewise ox. */                              \
        for (uint oy = iy / 2; oy <= min((iy + 1) / 2, p.OH - 1); ++oy)                           \
            for (uint ox = ix / 2; ox <= min((ix + 1) / 2, p.OW - 1); ++ox)                       \
                if (windowArgmax(plane, oy, ox, p.H, p.W) == i) g += dy[from + oy * p.OW + ox];   \
        const uint o = at(p.dx, n, c, p.H * p.W, i);                                              \
        dx[o] = ACCUMULATE ? dx[o] + g : g;                                                       \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.H * p.W, NOTHING, GATHER) }
