#version 450
// y = x, between two views of the same shape (see rows.glsl for layout and dispatch).
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

#define COPY(row, i)                                                          \
    {                                                                         \
        const uint from = itemIndex(p.xOffset + row * p.xStride) + i;         \
        const uint to = itemIndex(p.yOffset + row * p.yStride) + i;           \
        if (VEC4) y4[to] = LOAD4(x4, xTexels, from); else y[to] = x[from];                    \
    }

void main() { FOR_OWN_ITEM(p.rows, p.rowLength, COPY) }
