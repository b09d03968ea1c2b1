#version 450
// z = alpha * x + beta * y over views of one shape (see rows.glsl for layout and dispatch).
// Serves add, subtract, scale-and-add and the additive coupling and its inverse; z may be x or y
// (in place), since every element is read before it is written by the same invocation.
#extension GL_GOOGLE_include_directive : require
#include "rows.glsl"

layout(binding = 0) readonly buffer XS { float x[]; };
layout(binding = 0) readonly buffer XV { vec4 x4[]; };
layout(binding = 1) readonly buffer YS { float y[]; };
layout(binding = 1) readonly buffer YV { vec4 y4[]; };
layout(binding = 2) writeonly buffer ZS { float z[]; };
layout(binding = 2) writeonly buffer ZV { vec4 z4[]; };
layout(binding = 3, rgba32f) uniform readonly imageBuffer xTexels;  // x and y again, read under TEXELS
layout(binding = 4, rgba32f) uniform readonly imageBuffer yTexels;

layout(push_constant) uniform Push {
    uint rows, rowLength;
    uint xOffset, xStride;
    uint yOffset, yStride;
    uint zOffset, zStride;
    float alpha, beta;
} p;

#define AXPBY(row, i)                                                                    \
    {                                                                                    \
        const uint a = itemIndex(p.xOffset + row * p.xStride) + i;                       \
        const uint b = itemIndex(p.yOffset + row * p.yStride) + i;                       \
        const uint c = itemIndex(p.zOffset + row * p.zStride) + i;                       \
        if (VEC4) z4[c] = p.alpha * LOAD4(x4, xTexels, a) + p.beta * LOAD4(y4, yTexels, b);                              \
        else z[c] = p.alpha * x[a] + p.beta * y[b];                                      \
    }

void main() { FOR_OWN_ITEM(p.rows, p.rowLength, AXPBY) }
