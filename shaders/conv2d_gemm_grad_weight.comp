#version 450
// Convolution backward to the weights as a shared-memory implicit GEMM with split-K (the GPU
// variant): part z of the dispatch sums its share of the output rows into
// target[z * K*C*R*S + o*C*R*S + (i, r, s)]; with one part the target is the weight gradient
// itself, which ACCUMULATE adds to (batch chunks after the first). See conv2d_gemm.glsl.
// k walks the output positions row by row, each row padded to whole BK steps (OWP columns), so
// that a step lies in one row: its sample and row come from one division for the whole
// workgroup, not two per loaded element.
// Bindings: 0 = x, 1 = dy, 2 = target.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "conv2d_gemm.glsl"
layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) readonly buffer Dy { float dy[]; };
layout(binding = 2) buffer Target { float target[]; };

// Output rows (sample, oy) padded to OWP columns; a part sums whole rows.
int paddedRow() { return ((p.OW + BK - 1) / BK) * BK; }
#define M_SIZE p.K
#define N_SIZE (p.C * R * S)
#define K_SIZE (p.N * p.OH * paddedRow())
#define K_BEGIN (int(gl_WorkGroupID.z) * p.N * p.OH / int(gl_NumWorkGroups.z) * paddedRow())
#define K_END ((int(gl_WorkGroupID.z) + 1) * p.N * p.OH / int(gl_NumWorkGroups.z) * paddedRow())
#define STEP(k0)                                                                                  \
    const int row = (k0) / paddedRow(), nSample = row / p.OH, oy = row - nSample * p.OH;          \
    const int rowStart = row * paddedRow();
float loadA(int o, int ox, int nSample, int oy) {
    return ox < p.OW ? dy[p.outOffset + nSample * p.outSampleStride + (o * p.OH + oy) * p.OW + ox] : 0.0;
}
#define LOAD_A(m, k) loadA(m, (k) - rowStart, nSample, oy)
// Column n: weight (i, r, s).
#define COLUMN(n)                                                                                 \
    const int channel = (n) / (R * S), r = ((n) - channel * R * S) / S, s = (n) - channel * R * S - r * S; \
    const int inChannel = p.inOffset + channel * p.H * p.W;
float loadB(int ox, int nSample, int oy, int r, int s, int inChannel) {
    const int iy = oy * STRIDE - PAD + r, ix = ox * STRIDE - PAD + s;
    return (ox < p.OW && iy >= 0 && iy < p.H && ix >= 0 && ix < p.W)
               ? x[inChannel + nSample * p.inSampleStride + iy * p.W + ix] : 0.0;
}
#define LOAD_B(k) loadB((k) - rowStart, nSample, oy, r, s, inChannel)
void store(int o, int n, float value) {
    const int at = p.wOffset + int(gl_WorkGroupID.z) * p.K * N_SIZE + o * N_SIZE + n;
    target[at] = ACCUMULATE ? target[at] + value : value;
}
#define STORE(m, n, value) store(m, n, value)
#include "conv2d_gemm_main.glsl"
