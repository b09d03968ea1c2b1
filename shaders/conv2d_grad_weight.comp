#version 450
// Convolution backward to the weights, in parts:
//   partial[q][k][c][r][s] = sum over the q-th part of the (sample, output row) pairs, over
//                            output columns, of dy[n][k][oy][ox] * x[n][c][oy*STRIDE-PAD+r][ox*STRIDE-PAD+s]
// reduce_parts.comp then sums the parts in a fixed order (deterministic: no atomics). NCHW
// float32; x and dy may be channel ranges of bigger tensors (per-sample strides).
// Each invocation owns 4*TK4 output channels x TC input channels x all taps of one part, and
// walks its rows TW output columns at a time: TK4*TW vec4 of dy and TC*R*((TW-1)*STRIDE+S) floats
// of x feed 16*TK4*TC*R*S*TW FMAs. x and dy come through texel buffers (fast loads on lavapipe).
// Dispatch: x = tiles (k tile fastest after c tile) x parts, workgroup size from specialization 0.
// Specialization: 0 = workgroup size, 1 = R, 2 = S, 3 = STRIDE, 4 = TK4, 5 = TC, 6 = TW, 9 = PAD.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int R = 3;
layout(constant_id = 2) const int S = 3;
layout(constant_id = 3) const int STRIDE = 1;
layout(constant_id = 4) const int TK4 = 2;
layout(constant_id = 5) const int TC = 2;
layout(constant_id = 6) const int TW = 4;
layout(constant_id = 9) const int PAD = 1;

layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer dy;
layout(binding = 2) writeonly buffer Partial { float partial[]; };

layout(push_constant) uniform Push {
    uint N, C, H, W, xOffset, xSampleStride;
    uint K, OH, OW, dyOffset, dySampleStride;
    uint parts, partialOffset;
} p;

const int PW = (TW - 1) * STRIDE + S;

void main() {
    const int K = int(p.K), C = int(p.C), OH = int(p.OH), OW = int(p.OW), H = int(p.H), W = int(p.W);
    const int tilesK = (K + 4 * TK4 - 1) / (4 * TK4), tilesC = (C + TC - 1) / TC;
    const int t = int(gl_GlobalInvocationID.x);
    if (t >= tilesK * tilesC * int(p.parts)) return;
    const int c0 = t % tilesC * TC, k0 = t / tilesC % tilesK * 4 * TK4, part = t / (tilesC * tilesK);
    const int rowsTotal = int(p.N) * OH;
    const int rowBegin = rowsTotal * part / int(p.parts), rowEnd = rowsTotal * (part + 1) / int(p.parts);

    vec4 acc[TK4][TC][R][S];
    for (int k = 0; k < TK4; ++k)
        for (int c = 0; c < TC; ++c)
            for (int r = 0; r < R; ++r)
                for (int s = 0; s < S; ++s) acc[k][c][r][s] = vec4(0);

    // Channels past the end are clamped: their sums are computed and never written.
    int dyChannel[TK4 * 4], xChannel[TC];
    for (int k = 0; k < TK4 * 4; ++k) dyChannel[k] = min(k0 + k, K - 1) * OH * OW;
    for (int c = 0; c < TC; ++c) xChannel[c] = min(c0 + c, C - 1) * H * W;

    for (int row = rowBegin; row < rowEnd; ++row) {
        const int n = row / OH, oy = row % OH;
        const int dyRow = int(p.dyOffset) + n * int(p.dySampleStride) + oy * OW;
        const int xSample = int(p.xOffset) + n * int(p.xSampleStride);
        for (int ox0 = 0; ox0 < OW; ox0 += TW) {
            vec4 d[TK4][TW];
            for (int j = 0; j < TW; ++j) {
                const float inside = ox0 + j < OW ? 1.0 : 0.0;
                const int at = dyRow + min(ox0 + j, OW - 1);
                for (int k = 0; k < TK4; ++k)
                    d[k][j] = inside * vec4(texelFetch(dy, at + dyChannel[4 * k]).r, texelFetch(dy, at + dyChannel[4 * k + 1]).r,
                                            texelFetch(dy, at + dyChannel[4 * k + 2]).r, texelFetch(dy, at + dyChannel[4 * k + 3]).r);
            }
            for (int r = 0; r < R; ++r) {
                const int iy = oy * STRIDE - PAD + r;
                if (iy < 0 || iy >= H) continue;
                int colAt[PW];
                float colIn[PW];
                for (int j = 0; j < PW; ++j) {
                    const int ix = ox0 * STRIDE - PAD + j;
                    colIn[j] = (ix >= 0 && ix < W) ? 1.0 : 0.0;
                    colAt[j] = xSample + iy * W + clamp(ix, 0, W - 1);
                }
                for (int c = 0; c < TC; ++c) {
                    float xs[PW];
                    for (int j = 0; j < PW; ++j) xs[j] = texelFetch(x, colAt[j] + xChannel[c]).r * colIn[j];
                    for (int s = 0; s < S; ++s)
                        for (int k = 0; k < TK4; ++k)
                            for (int j = 0; j < TW; ++j) acc[k][c][r][s] += d[k][j] * xs[j * STRIDE + s];
                }
            }
        }
    }

    const int taps = R * S;
    for (int k = 0; k < 4 * TK4 && k0 + k < K; ++k)
        for (int c = 0; c < TC && c0 + c < C; ++c)
            for (int r = 0; r < R; ++r)
                for (int s = 0; s < S; ++s)
                    partial[int(p.partialOffset) + ((part * K + k0 + k) * C + c0 + c) * taps + r * S + s] = acc[k / 4][c][r][s][k % 4];
}
