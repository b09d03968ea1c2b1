#version 450
// x = quantized(x) in place: puts a tensor on the fixed-point grid before reversible units start
// adding to it (the stem's output, a downsampling unit's). Sets overflow[overflowAt] = 1 where a
// value is past the grid's exact range. Layout and dispatch: rows.glsl. See fixed_point.glsl.
#extension GL_GOOGLE_include_directive : require
#include "rows.glsl"
#include "fixed_point.glsl"

layout(binding = 0) buffer XS { float x[]; };
layout(binding = 0) buffer XV { vec4 x4[]; };
layout(binding = 1) buffer Overflow { uint overflow[]; };

layout(push_constant) uniform Push {
    uint rows, rowLength;
    uint xOffset, xStride;
    uint overflowAt;
} p;

#define QUANTIZE(row, i)                                                                          \
    {                                                                                             \
        const uint at = itemIndex(p.xOffset + row * p.xStride) + i;                               \
        bool inside = true;                                                                       \
        if (VEC4) {                                                                               \
            vec4 v = x4[at];                                                                      \
            for (int e = 0; e < 4; ++e) v[e] = quantized(v[e]), inside = inside && exactOnGrid(v[e]); \
            x4[at] = v;                                                                           \
        } else {                                                                                  \
            x[at] = quantized(x[at]);                                                             \
            inside = exactOnGrid(x[at]);                                                          \
        }                                                                                         \
        if (!inside) overflow[p.overflowAt] = 1u;                                                 \
    }

void main() { FOR_OWN_ITEM(p.rows, p.rowLength, QUANTIZE) }
