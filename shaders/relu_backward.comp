#version 450
// dx = dy where x > 0, else 0, over views of one shape (see rows.glsl for layout and dispatch).
// x may be the ReLU's input or its output: both are positive at the same places. dx may be dy.
#extension GL_GOOGLE_include_directive : require
#include "rows.glsl"

layout(binding = 0) readonly buffer XS { float x[]; };
layout(binding = 0) readonly buffer XV { vec4 x4[]; };
layout(binding = 1) readonly buffer DYS { float dy[]; };
layout(binding = 1) readonly buffer DYV { vec4 dy4[]; };
layout(binding = 2) writeonly buffer DXS { float dx[]; };
layout(binding = 2) writeonly buffer DXV { vec4 dx4[]; };
layout(binding = 3, rgba32f) uniform readonly imageBuffer xTexels;   // x and dy again, read under TEXELS
layout(binding = 4, rgba32f) uniform readonly imageBuffer dyTexels;

layout(push_constant) uniform Push {
    uint rows, rowLength;
    uint xOffset, xStride;
    uint dyOffset, dyStride;
    uint dxOffset, dxStride;
} p;

#define RELU_BACKWARD(row, i)                                                                   \
    {                                                                                           \
        const uint a = itemIndex(p.xOffset + row * p.xStride) + i;                              \
        const uint b = itemIndex(p.dyOffset + row * p.dyStride) + i;                            \
        const uint c = itemIndex(p.dxOffset + row * p.dxStride) + i;                            \
        if (VEC4) dx4[c] = mix(vec4(0), LOAD4(dy4, dyTexels, b), greaterThan(LOAD4(x4, xTexels, a), vec4(0)));                   \
        else dx[c] = x[a] > 0.0 ? dy[b] : 0.0;                                                  \
    }

void main() { FOR_OWN_ITEM(p.rows, p.rowLength, RELU_BACKWARD) }
