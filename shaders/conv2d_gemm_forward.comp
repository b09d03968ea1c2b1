#version 450
// Convolution forward as a shared-memory implicit GEMM (the GPU variant): y = conv(x, w), or
// with ACCUMULATE y += (SUBTRACT: -=) conv(x, w), each term first rounded to the fixed-point grid
// when FIXED_BITS > 0 (fixed_point.glsl). See conv2d_gemm.glsl.
// Bindings: 0 = x, 1 = w[K][C][R][S], 2 = y, 3 = the overflow flag.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "conv2d_gemm.glsl"
layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) readonly buffer Weights { float w[]; };
layout(binding = 2) buffer Out { float y[]; };
#include "fixed_point.glsl"
layout(binding = 3) buffer Overflow { uint overflow[]; };

#define M_SIZE p.K
#define N_SIZE (p.N * p.OH * p.OW)
#define K_SIZE (p.C * R * S)
#define LOAD_A(m, k) w[p.wOffset + (m) * K_SIZE + (k)]
// Column n: output position (sample, oy, ox); B's rows walk its receptive field.
#define COLUMN(n)                                                                                 \
    const int nSample = (n) / (p.OH * p.OW), position = (n) - nSample * p.OH * p.OW;                \
    const int oy = position / p.OW, iy0 = oy * STRIDE - PAD, ix0 = (position - oy * p.OW) * STRIDE - PAD; \
    const int inBase = p.inOffset + nSample * p.inSampleStride;
float loadB(int k, int iy0, int ix0, int inBase) {
    const int i = k / (R * S), r = (k - i * R * S) / S, s = k - i * R * S - r * S;
    const int iy = iy0 + r, ix = ix0 + s;
    return (iy >= 0 && iy < p.H && ix >= 0 && ix < p.W) ? x[inBase + (i * p.H + iy) * p.W + ix] : 0.0;
}
#define LOAD_B(k) loadB(k, iy0, ix0, inBase)
void store(int o, int n, float value) {
    const int nSample = n / (p.OH * p.OW), position = n - nSample * p.OH * p.OW;
    const int at = p.outOffset + nSample * p.outSampleStride + o * p.OH * p.OW + position;
    if (FIXED_BITS > 0) value = quantized(value);
    const float result = !ACCUMULATE ? value : SUBTRACT ? y[at] - value : y[at] + value;
    if (FIXED_BITS > 0 && !(exactOnGrid(value) && exactOnGrid(result))) overflow[p.overflowAt] = 1u;
    y[at] = result;
}
#define STORE(m, n, value) store(m, n, value)
#include "conv2d_gemm_main.glsl"
