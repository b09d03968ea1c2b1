#version 450
// The RevNet/ResNet downsampling shortcut: 2x2 average pooling with stride 2, then zero channels
// padded around the result:
//   y[n][o][i][j] = mean of x[n][o - padBefore][2i..2i+1][2j..2j+1]  for o - padBefore in [0, C)
//                 = 0                                              otherwise
// x is N x C x H x W (H, W even), y N x Cout x H/2 x W/2. Layout: channels.glsl.
// Dispatch: channels.glsl's grid over (sample, output channel) rows of output positions; with
// VEC4 (W, offsets and strides multiples of 4) an item is a horizontal pair of outputs read as
// two vec4 from the input rows (RGBA32F texels under TEXELS).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };
layout(binding = 2, rgba32f) uniform readonly imageBuffer xTexels;  // x again, read under TEXELS

layout(push_constant) uniform Push {
    uint N, C, H, W, Cout, padBefore;
    View x, y;
} p;

#define NOTHING(n, o)
#define POOL(n, o, i)                                                                             \
    {                                                                                             \
        const uint OW = p.W / 2, perRow = VEC4 ? OW / 2 : OW;                                     \
        const uint oy = divide(i, perRow, 1.0 / float(perRow)), ox = (i - oy * perRow) * (VEC4 ? 2 : 1); \
        vec2 v = vec2(0.0);                                                                       \
        if (o >= p.padBefore && o - p.padBefore < p.C) {                                          \
            const uint top = at(p.x, n, o - p.padBefore, p.H * p.W, oy * 2 * p.W + ox * 2);       \
            if (VEC4) {                                                                           \
                const vec4 s = LOAD4(x4, xTexels, top / 4) + LOAD4(x4, xTexels, (top + p.W) / 4); \
                v = 0.25 * vec2(s.x + s.y, s.z + s.w);                                            \
            } else {                                                                              \
                v.x = 0.25 * (x[top] + x[top + 1] + x[top + p.W] + x[top + p.W + 1]);             \
            }                                                                                     \
        }                                                                                         \
        const uint to = at(p.y, n, o, (p.H / 2) * OW, oy * OW + ox);                              \
        y[to] = v.x;                                                                              \
        if (VEC4) y[to + 1] = v.y;                                                                \
    }

// Under VEC4 channels.glsl counts plane / 4 items; an item here is a pair of outputs.
void main() { FOR_OWN_ROW_ITEM(p.N, p.Cout, (VEC4 ? 2 : 1) * (p.H / 2) * (p.W / 2), NOTHING, POOL) }
