// Convolution backward to the weights, in parts:
//   partial[q][k][c][r][s] = sum over the q-th part of the (sample, output row) pairs, over
//                            output columns, of dy[n][k][oy][ox] * x[n][c][oy*STRIDE-PAD+r][ox*STRIDE-PAD+s]
// reduce_parts.comp then sums the parts in a fixed order (deterministic: no atomics). NCHW
// float32; x and dy may be channel ranges of bigger tensors (per-sample strides).
// An invocation owns TC input channels and TK output channels x all taps of one part. Lanes run
// over cLanes blocks of TC input channels and, when there are few (the stem), over several k
// tiles too. Per step of TW output columns it loads TC*R*((TW-1)*STRIDE+S) floats of x and TK*TW
// of dy for TK*TC*R*S*TW FMAs: with one tap, TC > 1 is what reuses each load.
// Dispatch: x = part, y = group of workgroupSize/cLanes k tiles, z = block of cLanes*TC input channels.
// Specialization: 0 = workgroup size, 1 = R, 2 = S, 3 = STRIDE, 4 = TK, 5 = TC, 6 = TW, 9 = PAD,
// 10 = DY_VEC4, 11 = ACCUMULATE (add to the target: batch chunks after the first), 12 = X_VEC4,
// 13 = LANES (SUBGROUP_LOADS: the subgroup size), 14 = CARRY_X, 15 = ROW_STEPS, 16 = STEP_PAIRS,
// 19 = INPUT_NORM (x goes through its batch norm and ReLU as it loads: input_norm.glsl).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int R = 3;
layout(constant_id = 2) const int S = 3;
layout(constant_id = 3) const int STRIDE = 1;
layout(constant_id = 4) const int TK = 8;
layout(constant_id = 5) const int TC = 1;
layout(constant_id = 6) const int TW = 4;
layout(constant_id = 9) const int PAD = 1;

// dy is bound twice, as floats and as vec4s: with DY_VEC4 (OW, offsets and strides multiples of
// 4, TW a multiple of 4) a step loads TW/4 vec4s per output channel instead of TW floats. Texel
// buffers are the fast path on CPU devices; STORAGE_LOADS (conv2d_grad_weight_storage) reads
// storage buffers instead, for bindings past the device's maxTexelBufferElements.
#ifdef STORAGE_LOADS
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Dy { float dy[]; };
layout(binding = 3) readonly buffer Dy4 { vec4 dy4[]; };
layout(binding = 4) readonly buffer X4 { vec4 x4[]; };
#define LOAD_X(i) x[i]
#define LOAD_DY(i) dy[i]
#define LOAD_DY4(i) dy4[i]
#define LOAD_X4(i) x4[i]
#else
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer dy;
layout(binding = 3, rgba32f) uniform readonly imageBuffer dy4;
layout(binding = 4, rgba32f) uniform readonly imageBuffer x4;
#define LOAD_X(i) texelFetch(x, i).r
#define LOAD_DY(i) texelFetch(dy, i).r
#define LOAD_DY4(i) imageLoad(dy4, i)
#define LOAD_X4(i) imageLoad(x4, i)
#endif
layout(binding = 2) buffer Partial { float partial[]; };  // ACCUMULATE adds to it
#include "input_norm.glsl"
layout(constant_id = 10) const bool DY_VEC4 = false;
// x is bound twice too: with X_VEC4 (TW*STRIDE, W, offsets and strides multiples of 4, PAD + STRIDE
// <= S) the TW*STRIDE middle columns of each row a step reads load as vec4s.
layout(constant_id = 12) const bool X_VEC4 = false;
// With X_VEC4, a step's edge columns are middle columns of the steps before and after it along the
// row: CARRY_X keeps those vec4s from step to step (loading one step ahead) instead of loading the
// edges as floats, the slowest loads on lavapipe.
layout(constant_id = 14) const bool CARRY_X = false;
const int MID4 = (TW * STRIDE + 3) / 4;  // vec4s in a step's middle columns (X_VEC4; never 0, an array size)
layout(constant_id = 11) const bool ACCUMULATE = false;  // batch chunks after the first
// ROW_STEPS > 0: an output row is exactly ROW_STEPS steps of TW columns, and the loop over them
// unrolls. lavapipe blends every value a loop carries (the sums, CARRY_X's vec4s) with the loop's
// mask on each iteration; on 8-wide rows (2 steps) the unrolled row ran 1.2-1.5x faster.
layout(constant_id = 15) const int ROW_STEPS = 0;
// STEP_PAIRS (rows of an even number of steps, ROW_STEPS 0): two steps an iteration, each sum
// blended once per two. Faster only on 1x1 expansions (1.1-1.3x); slower on every 3x3 row.
layout(constant_id = 16) const bool STEP_PAIRS = false;
const int PER_ITERATION = STEP_PAIRS && ROW_STEPS == 0 ? 2 : 1;
#ifdef SUBGROUP_LOADS
// Where the lanes of a subgroup differ only in their input channels (cLanes a multiple of the
// subgroup size), they all read the same dy, and on lavapipe each texel load is a gather over the
// SIMD lanes: with SUBGROUP_LOADS (conv2d_grad_weight_subgroup.comp) and DY_VEC4 each lane loads a
// share of a step's DY_TEXELS texels and subgroupShuffle hands them round. LANES must be the
// subgroup size and divide cLanes. Every lane must reach the shuffles, so lanes past the last input
// channel keep going on the clamped one. Without DY_VEC4 each lane loads its own dy, as before.
layout(constant_id = 13) const int LANES = 8;
const int DY_TEXELS = (TK * TW + 3) / 4, DY_SLOTS = (DY_TEXELS + LANES - 1) / LANES;
#endif

layout(push_constant) uniform Push {
    uint N, C, H, W, xOffset, xSampleStride;
    uint K, OH, OW, dyOffset, dySampleStride;
    uint parts, partialOffset, cLanes;
    uint statsOffset, gammaOffset, betaOffset;  // INPUT_NORM
    float eps;
} p;

const int PW = (TW - 1) * STRIDE + S;

void main() {
    const int K = int(p.K), C = int(p.C), OH = int(p.OH), OW = int(p.OW), H = int(p.H), W = int(p.W);
    const uint lane = gl_LocalInvocationID.x, kTiles = gl_WorkGroupSize.x / p.cLanes;
    const int c0 = int((gl_WorkGroupID.z * p.cLanes + lane % p.cLanes) * TC);
    const int k0 = int((gl_WorkGroupID.y * kTiles + lane / p.cLanes) * TK), part = int(gl_WorkGroupID.x);
#ifdef SUBGROUP_LOADS
    if (k0 >= K || lane / p.cLanes >= kTiles) return;  // the same for the whole subgroup
#else
    if (c0 >= C || k0 >= K || lane / p.cLanes >= kTiles) return;
#endif
    const int rowsTotal = int(p.N) * OH;
    const int rowBegin = rowsTotal * part / int(p.parts), rowEnd = rowsTotal * (part + 1) / int(p.parts);

    float acc[TK][TC][R][S];
    [[unroll]] for (int k = 0; k < TK; ++k)
        [[unroll]] for (int u = 0; u < TC; ++u)
            [[unroll]] for (int r = 0; r < R; ++r)
                [[unroll]] for (int s = 0; s < S; ++s) acc[k][u][r][s] = 0.0;

    // Channels past the end are clamped: their sums are computed and never written.
    int dyChannel[TK], xChannel[TC];
    [[unroll]] for (int k = 0; k < TK; ++k) dyChannel[k] = min(k0 + k, K - 1) * OH * OW;
    [[unroll]] for (int u = 0; u < TC; ++u) xChannel[u] = min(c0 + u, C - 1) * H * W;
    vec3 norm[TC];
    [[unroll]] for (int u = 0; u < TC; ++u)
        norm[u] = channelNorm(uint(min(c0 + u, C - 1)), p.C, uvec3(p.statsOffset, p.gammaOffset, p.betaOffset), p.eps);

    for (int row = rowBegin; row < rowEnd; ++row) {
        const int n = row / OH, oy = row % OH;
        const int dyRow = int(p.dyOffset) + n * int(p.dySampleStride) + oy * OW;
        const int xSample = int(p.xOffset) + n * int(p.xSampleStride);
        // Where each x row the taps read starts (clamped), and whether it is inside (else padding).
        int xRowAt[TC][R];
        float xRowInside[TC][R];
        [[unroll]] for (int u = 0; u < TC; ++u)
            [[unroll]] for (int r = 0; r < R; ++r) {
                const int iy = oy * STRIDE - PAD + r;
                xRowInside[u][r] = (iy >= 0 && iy < H) ? 1.0 : 0.0;
                xRowAt[u][r] = xSample + xChannel[u] + clamp(iy, 0, H - 1) * W;
            }
        // CARRY_X: each x row's middle vec4s of the step before (zeros: padding), this one and the next.
        vec4 before[TC][R][MID4], middle[TC][R][MID4];
        if (CARRY_X)
            [[unroll]] for (int u = 0; u < TC; ++u)
                [[unroll]] for (int r = 0; r < R; ++r)
                    [[unroll]] for (int q = 0; q < MID4; ++q) {
                        before[u][r][q] = vec4(0.0);
                        middle[u][r][q] = 4 * q < W ? normalized(LOAD_X4((xRowAt[u][r] + 4 * q) / 4), norm[u]) * xRowInside[u][r] : vec4(0.0);
                    }
        [[unroll]] for (int first = 0; first < (ROW_STEPS > 0 ? ROW_STEPS * TW : OW); first += PER_ITERATION * TW)
        [[unroll]] for (int second = 0; second < PER_ITERATION; ++second) {
            const int ox0 = first + second * TW;
            float d[TK][TW];
            if (DY_VEC4) {
#ifdef SUBGROUP_LOADS
                // Texel m = k * TW / 4 + q is loaded by lane m % LANES, into its slot m / LANES.
                vec4 share[DY_SLOTS];
                [[unroll]] for (int slot = 0; slot < DY_SLOTS; ++slot) {
                    const int m = min(slot * LANES + int(gl_SubgroupInvocationID), DY_TEXELS - 1);
                    const int channel = min(k0 + m / (TW / 4), K - 1) * OH * OW;
                    share[slot] = LOAD_DY4((dyRow + channel + ox0) / 4 + m % (TW / 4));
                }
#endif
                [[unroll]] for (int k = 0; k < TK; ++k)
                    [[unroll]] for (int q = 0; q < TW / 4; ++q) {
#ifdef SUBGROUP_LOADS
                        const int m = k * (TW / 4) + q;
                        const vec4 v = subgroupShuffle(share[m / LANES], m % LANES);
#else
                        const vec4 v = LOAD_DY4((dyRow + dyChannel[k] + ox0) / 4 + q);
#endif
                        [[unroll]] for (int j = 0; j < 4; ++j) d[k][4 * q + j] = v[j];
                    }
            } else {
                [[unroll]] for (int j = 0; j < TW; ++j) {
                    const float inside = ox0 + j < OW ? 1.0 : 0.0;
                    [[unroll]] for (int k = 0; k < TK; ++k)
                        d[k][j] = inside * LOAD_DY(dyRow + dyChannel[k] + min(ox0 + j, OW - 1));
                }
            }
            float xs[TC][R][PW];
            if (CARRY_X)
                [[unroll]] for (int u = 0; u < TC; ++u)
                    [[unroll]] for (int r = 0; r < R; ++r) {
                        vec4 after[MID4];
                        [[unroll]] for (int q = 0; q < MID4; ++q) {
                            const int ix = (ox0 + TW) * STRIDE + 4 * q;  // whole texels: W % 4 == 0
                            after[q] = ix < W ? normalized(LOAD_X4((xRowAt[u][r] + ix) / 4), norm[u]) * xRowInside[u][r] : vec4(0.0);
                        }
                        // Column j of the step is column j - PAD of its middle.
                        [[unroll]] for (int j = 0; j < PW; ++j) {
                            const int m = j - PAD;
                            if (m < 0) xs[u][r][j] = before[u][r][(m + MID4 * 4) / 4][(m + MID4 * 4) % 4];
                            else if (m < MID4 * 4) xs[u][r][j] = middle[u][r][m / 4][m % 4];
                            else xs[u][r][j] = after[(m - MID4 * 4) / 4][(m - MID4 * 4) % 4];
                        }
                        [[unroll]] for (int q = 0; q < MID4; ++q) {
                            before[u][r][q] = middle[u][r][q];
                            middle[u][r][q] = after[q];
                        }
                    }
            else
            [[unroll]] for (int u = 0; u < TC; ++u)
                [[unroll]] for (int r = 0; r < R; ++r) {
                    const float rowInside = xRowInside[u][r];
                    const int rowAt = xRowAt[u][r];
                    [[unroll]] for (int j = 0; j < PW; ++j)
                        if (!X_VEC4 || j < PAD || j >= PAD + TW * STRIDE) {
                            const int ix = ox0 * STRIDE - PAD + j;
                            const float inside = (ix >= 0 && ix < W) ? rowInside : 0.0;
                            xs[u][r][j] = inside * normalized(LOAD_X(rowAt + clamp(ix, 0, W - 1)), norm[u]);
                        }
                    if (X_VEC4)
                        [[unroll]] for (int q = 0; q < TW * STRIDE / 4; ++q) {
                            const int ix = ox0 * STRIDE + 4 * q;  // whole texels: W % 4 == 0
                            const vec4 v = ix < W ? normalized(LOAD_X4((rowAt + ix) / 4), norm[u]) * rowInside : vec4(0.0);
                            [[unroll]] for (int e = 0; e < 4; ++e) xs[u][r][PAD + 4 * q + e] = v[e];
                        }
                }
            // Sums outermost, so each stays in a register across its TW products.
            [[unroll]] for (int k = 0; k < TK; ++k)
                [[unroll]] for (int u = 0; u < TC; ++u)
                    [[unroll]] for (int r = 0; r < R; ++r)
                        [[unroll]] for (int s = 0; s < S; ++s)
                            [[unroll]] for (int j = 0; j < TW; ++j) acc[k][u][r][s] += d[k][j] * xs[u][r][j * STRIDE + s];
        }
    }

    const int taps = R * S;
    [[unroll]] for (int k = 0; k < TK; ++k)
        [[unroll]] for (int u = 0; u < TC; ++u)
            if (k0 + k < K && c0 + u < C)
                [[unroll]] for (int r = 0; r < R; ++r)
                    [[unroll]] for (int s = 0; s < S; ++s) {
                        const int at = int(p.partialOffset) + ((part * K + k0 + k) * C + c0 + u) * taps + r * S + s;
                        partial[at] = ACCUMULATE ? partial[at] + acc[k][u][r][s] : acc[k][u][r][s];
                    }
}
