#version 450
// y = max(x, 0) over views of one shape (see rows.glsl for layout and dispatch); y may be x.
#extension GL_GOOGLE_include_directive : require
#include "rows.glsl"

layout(binding = 0) readonly buffer XS { float x[]; };
layout(binding = 0) readonly buffer XV { vec4 x4[]; };
layout(binding = 1) writeonly buffer YS { float y[]; };
layout(binding = 1) writeonly buffer YV { vec4 y4[]; };
layout(binding = 2, rgba32f) uniform readonly imageBuffer xTexels;  // x again, read under TEXELS

layout(push_constant) uniform Push {
    uint rows, rowLength;
    uint xOffset, xStride;
    uint yOffset, yStride;
} p;

#define RELU(row, i)                                                          \
    {                                                                         \
        const uint from = itemIndex(p.xOffset + row * p.xStride) + i;         \
        const uint to = itemIndex(p.yOffset + row * p.yStride) + i;           \
        if (VEC4) y4[to] = max(LOAD4(x4, xTexels, from), vec4(0)); else y[to] = max(x[from], 0.0); \
    }

void main() { FOR_OWN_ITEM(p.rows, p.rowLength, RELU) }
