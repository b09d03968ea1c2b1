#version 450
// Convolution backward to the input as a shared-memory implicit GEMM (the GPU variant):
// dx = conv_transpose(dy, w), or with ACCUMULATE dx += it. See conv2d_gemm.glsl.
// A strided convolution's transpose is split by the parity (PY, PX) of dx positions, one dispatch
// per class: dx row y = a*STRIDE + PY gets only the taps r = R0 + STRIDE*rr (R0 = (PY + PAD) mod
// STRIDE), from dy row a + (PY + PAD - R0) / STRIDE - rr, so no multiply-add is spent on taps
// that fall between outputs. A class without taps (a 1x1 stride-2 kernel's odd positions) gets 0.
// Bindings: 0 = dy, 1 = w[K][C][R][S], 2 = dx. Specialization as conv2d_gemm.glsl, and 7 = PY,
// 8 = PX.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "conv2d_gemm.glsl"
layout(constant_id = 7) const int PY = 0;
layout(constant_id = 8) const int PX = 0;
layout(binding = 0) readonly buffer Dy { float dy[]; };
layout(binding = 1) readonly buffer Weights { float w[]; };
layout(binding = 2) buffer Dx { float dx[]; };

// This class's taps: R0, R0 + STRIDE, ... below R (TR of them), and the same across.
const int R0 = (PY + PAD) % STRIDE, S0 = (PX + PAD) % STRIDE;
const int TR = (R - R0 + STRIDE - 1) / STRIDE, TS = (S - S0 + STRIDE - 1) / STRIDE;
const int DY0 = (PY + PAD - R0) / STRIDE, DX0 = (PX + PAD - S0) / STRIDE;
// The class's positions: rows a in [0, classRows()), columns b in [0, classCols()).
int classRows() { return (p.H - PY + STRIDE - 1) / STRIDE; }
int classCols() { return (p.W - PX + STRIDE - 1) / STRIDE; }

#define M_SIZE p.C
#define N_SIZE (p.N * classRows() * classCols())
#define K_SIZE (p.K * TR * TS)
float loadA(int i, int k) {
    const int o = k / (TR * TS), rr = (k - o * TR * TS) / TS, ss = k - o * TR * TS - rr * TS;
    return w[p.wOffset + ((o * p.C + i) * R + R0 + rr * STRIDE) * S + S0 + ss * STRIDE];
}
#define LOAD_A(m, k) loadA(m, k)
// Column n: the class's position (sample, a, b).
#define COLUMN(n)                                                                                 \
    const int nSample = (n) / (classRows() * classCols()), position = (n) - nSample * classRows() * classCols(); \
    const int a = position / classCols(), b = position - a * classCols();                         \
    const int dyBase = p.outOffset + nSample * p.outSampleStride;
float loadB(int k, int a, int b, int dyBase) {
    const int o = k / (TR * TS), rr = (k - o * TR * TS) / TS, ss = k - o * TR * TS - rr * TS;
    const int oy = a + DY0 - rr, ox = b + DX0 - ss;
    return (oy >= 0 && oy < p.OH && ox >= 0 && ox < p.OW) ? dy[dyBase + (o * p.OH + oy) * p.OW + ox] : 0.0;
}
#define LOAD_B(k) loadB(k, a, b, dyBase)
void store(int i, int n, float value) {
    const int nSample = n / (classRows() * classCols()), position = n - nSample * classRows() * classCols();
    const int a = position / classCols(), b = position - a * classCols();
    const int at = p.inOffset + nSample * p.inSampleStride + i * p.H * p.W + (a * STRIDE + PY) * p.W + b * STRIDE + PX;
    dx[at] = ACCUMULATE ? dx[at] + value : value;
}
#define STORE(m, n, value) store(m, n, value)
#include "conv2d_gemm_main.glsl"
