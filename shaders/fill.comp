#version 450
// y = value, over a view (see rows.glsl for layout and dispatch).
#extension GL_GOOGLE_include_directive : require
#include "rows.glsl"

layout(binding = 0) writeonly buffer YS { float y[]; };
layout(binding = 0) writeonly buffer YV { vec4 y4[]; };

layout(push_constant) uniform Push {
    uint rows, rowLength;
    uint yOffset, yStride;
    float value;
} p;

#define FILL(row, i)                                                          \
    {                                                                         \
        const uint at = itemIndex(p.yOffset + row * p.yStride) + i;           \
        if (VEC4) y4[at] = vec4(p.value); else y[at] = p.value;               \
    }

void main() { FOR_OWN_ITEM(p.rows, p.rowLength, FILL) }
