#version 450
// --precision fp16: keeps a tensor for the backward pass as halves. Each invocation rounds two
// floats of x to halves (half.glsl), writes them to one uint of `packed` (first in the low 16
// bits; a row of odd length pads its last uint with 0) and writes the rounded values back into
// x, so that the forward pass goes on with exactly what the backward pass will load.
// Layout: x is `rows` runs of `rowLength` floats (rows.glsl), packed `rows` runs of
// ceil(rowLength / 2) uints. Dispatch: rows.glsl, an item being a pair.
#extension GL_GOOGLE_include_directive : require
#include "rows.glsl"
#include "half.glsl"

layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) writeonly buffer Packed { uint packed[]; };

layout(push_constant) uniform Push {
    uint rows, rowLength;
    uint xOffset, xStride;
    uint packedOffset, packedStride;
} p;

#define STORE(row, pair)                                                                          \
    {                                                                                             \
        const uint at = p.xOffset + row * p.xStride + 2 * pair;                                   \
        const bool second = 2 * pair + 1 < p.rowLength;                                           \
        const uint low = halfBits(x[at]), high = second ? halfBits(x[at + 1]) : 0u;               \
        packed[p.packedOffset + row * p.packedStride + pair] = low | (high << 16);                \
        x[at] = halfValue(low);                                                                   \
        if (second) x[at + 1] = halfValue(high);                                                  \
    }

void main() { FOR_OWN_ITEM(p.rows, (p.rowLength + 1) / 2, STORE) }
