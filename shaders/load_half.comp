#version 450
// --precision fp16: y = the halves store_half.comp kept, as floats (exact: every half is a float).
// Layout: packed is `rows` runs of ceil(rowLength / 2) uints, y `rows` runs of `rowLength`
// floats (rows.glsl). Dispatch: rows.glsl, an item being a pair.
#extension GL_GOOGLE_include_directive : require
#include "rows.glsl"
#include "half.glsl"

layout(binding = 0) readonly buffer Packed { uint packed[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
    uint rows, rowLength;
    uint packedOffset, packedStride;
    uint yOffset, yStride;
} p;

#define LOAD(row, pair)                                                                           \
    {                                                                                             \
        const uint halves = packed[p.packedOffset + row * p.packedStride + pair];                 \
        const uint at = p.yOffset + row * p.yStride + 2 * pair;                                   \
        y[at] = halfValue(halves & 0xffffu);                                                      \
        if (2 * pair + 1 < p.rowLength) y[at + 1] = halfValue(halves >> 16);                      \
    }

void main() { FOR_OWN_ITEM(p.rows, (p.rowLength + 1) / 2, LOAD) }
