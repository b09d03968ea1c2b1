// Register-tiled direct convolution, shared by conv2d_forward.comp and conv2d_grad_input.comp.
// Both compute   out[n][o][y][x] = sum over i, taps (r, s) of  in[n][i][row][col] * w[i][r][s][o]
// where `w` is the packed weight (conv2d_pack_weights.comp: o innermost, zero-padded to whole
// tiles). NCHW float32; `in` and `out` may be channel ranges of bigger tensors (per-sample strides).
//   forward:    in = x, out = y, i = input channel, o = output channel; out position (y, x) reads
//               in rows y*STRIDE - pad + r.
//   grad input: in = dy, out = dx, i = output channel of the forward, o = its input channel. A
//               strided convolution's transpose is split by the parity (PY, PX) of dx positions:
//               dx row y = a*STRIDE + PY gets taps r with (PY + pad - r) divisible by STRIDE, from
//               dy row a + (PY + pad - r) / STRIDE. One dispatch per parity class, or (PARITIES)
//               one for all, each tile holding every class.
//
// Each invocation owns 4*TO4 output channels x TH rows x TW columns of one sample: per input
// channel it loads the patch of `in` those read (PH x PW) once and reuses it for every tap and
// output channel. Loads, not FMAs, bound this on CPU devices: the input comes through a texel
// buffer and the weights as vec4 texels, the fastest load paths on lavapipe.
// Dispatch: x = (position tile, sample) pairs, workgroup-size a group; y = output-channel tile.
// Specialization: 0 = workgroup size, 1 = R, 2 = S, 3 = STRIDE, 4 = TO4, 5 = TH, 6 = TW,
// 7 = PY, 8 = PX, 9 = pad (all compile-time so that every loop unrolls and indices fold), 10 = IN_VEC4, 11 = ACCUMULATE,
// 12 = SUBTRACT (with ACCUMULATE: out -= the result, a reversible coupling's inverse),
// 13 = FIXED_BITS (forward: fixed_point.glsl; binding 4 the overflow flag), 14 = WHOLE_TILES, 15 = OUT_VEC4,
// 16 = LANES (SUBGROUP_LOADS: the subgroup size), 17 = NEIGHBOURS (SUBGROUP_LOADS), 18 = PARITIES
// (grad input), 19 = INPUT_NORM (forward: input_norm.glsl), 20 = BEFORE_TEXELS (forward), 21 = NORM_SUMS
// (grad input), 22 = OUT_STATS (forward).

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int R = 3;
layout(constant_id = 2) const int S = 3;
layout(constant_id = 3) const int STRIDE = 1;
layout(constant_id = 4) const int TO4 = 2;
layout(constant_id = 5) const int TH = 4;
layout(constant_id = 6) const int TW = 4;
layout(constant_id = 7) const int PY = 0;
layout(constant_id = 8) const int PX = 0;
layout(constant_id = 9) const int PAD = 1;

// `in` is bound twice, as floats and as vec4s: with IN_VEC4 (MIDDLE and the row length multiples
// of 4, offsets and strides too; forward: PAD + STRIDE <= S) the MIDDLE middle columns of each tile
// row load as vec4s. Texel buffers are the fast path on CPU devices; STORAGE_LOADS (the *_storage
// shaders) reads storage buffers instead, for bindings past the device's maxTexelBufferElements.
#ifdef STORAGE_LOADS
layout(binding = 0) readonly buffer In { float inp[]; };
layout(binding = 1) readonly buffer Weights { vec4 w[]; };
layout(binding = 3) readonly buffer In4 { vec4 inp4[]; };
#define LOAD_IN(i) inp[i]
#define LOAD_IN4(i) inp4[i]
#define LOAD_W(i) w[i]
#else
layout(binding = 0) uniform samplerBuffer inp;  // R32F texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer w;
layout(binding = 3, rgba32f) uniform readonly imageBuffer inp4;
#define LOAD_IN(i) texelFetch(inp, i).r
#define LOAD_IN4(i) imageLoad(inp4, i)
#define LOAD_W(i) imageLoad(w, i)
#endif
// `out` is declared twice, as floats and as vec4s: with OUT_VEC4 (unit output step, TW and the
// row length multiples of 4, offsets and strides too) each tile row stores as TW/4 vec4s, a quarter
// of the scattered stores.
layout(binding = 2) buffer Out { float outp[]; };  // ACCUMULATE adds to it
layout(binding = 2) buffer Out4 { vec4 outp4[]; };
#if !defined(GRAD_INPUT) && !defined(STORAGE_LOADS)
// BEFORE_TEXELS (spec 20; forward, OUT_VEC4 and ACCUMULATE): what the output held is read through
// binding 8, an RGBA32F texel view of it, the fast load path on CPU devices; the coupling's sum
// cost a forward pass 4-10% more read through the storage buffer (docs/PERFORMANCE.md). Each
// value is read by the invocation that then writes it, before it does.
layout(constant_id = 20) const bool BEFORE_TEXELS = false;
layout(binding = 8, rgba32f) uniform readonly imageBuffer before4;
vec4 loadBefore4(int i) { return BEFORE_TEXELS ? imageLoad(before4, i) : outp4[i]; }
#else
vec4 loadBefore4(int i) { return outp4[i]; }
#endif
layout(constant_id = 15) const bool OUT_VEC4 = false;
layout(constant_id = 10) const bool IN_VEC4 = false;
layout(constant_id = 11) const bool ACCUMULATE = false;
layout(constant_id = 12) const bool SUBTRACT = false;
// Every tile inside the output (its rows, columns and channels multiples of the tile's): the
// epilogue's bounds checks go. The host sets it for fixed-point passes only: on lavapipe, in a
// RevNet-38 step those passes took 1.35-1.45x the time of a plain pass with the checks and
// 1.02-1.12x without, while plain passes ran 1.3-1.5x slower without them (docs/PERFORMANCE.md).
layout(constant_id = 14) const bool WHOLE_TILES = false;
#ifdef SUBGROUP_LOADS
// Every invocation of a workgroup needs the same packed weights (the output-channel tile is the
// workgroup's), and on lavapipe each texel load is a gather over the SIMD lanes: loading them cost
// about a quarter of the 3x3 passes' time. With SUBGROUP_LOADS (the *_subgroup shaders) each lane of
// a subgroup loads a share of an input channel's W_TEXELS texels and subgroupShuffle hands them
// round, so every lane of the subgroup must reach the shuffles. LANES must be the subgroup size
// and divide the workgroup size.
layout(constant_id = 16) const int LANES = 8;
const int W_TEXELS = R * S * TO4, W_SLOTS = (W_TEXELS + LANES - 1) / LANES;
// With IN_VEC4, each tile row's edge columns are the middle columns of the tiles beside it. Where
// a subgroup holds whole rows of tiles (LANES a multiple of the tiles a row) that cover the input's
// width, NEIGHBOURS takes them from the lanes beside by relative shuffles instead of loading them
// as floats (the slowest loads): the lane before holds the tile to the left, the lane after the
// one to the right (a subgroup is a run of consecutive invocations), and edges past the input are
// padding.
layout(constant_id = 17) const bool NEIGHBOURS = false;
#endif
// The epilogues that reduce over the workgroup (NORM_SUMS, OUT_STATS) keep a row of shared memory a
// lane: the tile workgroup has 64 lanes (conv2d.cpp), and shared arrays have fixed sizes (see
// workgroup_sum.glsl).
const int TILE_LANES = 64;
#ifndef GRAD_INPUT
// The forward pass of a fixed-point coupling rounds its result to the grid (fixed_point.glsl).
#include "fixed_point.glsl"
layout(binding = 4) buffer Overflow { uint overflow[]; };
// OUT_STATS (spec 22; OUT_VEC4, the whole pass one dispatch): each workgroup also writes the batch
// statistics of what it stores, for the batch norm that reads the output next: per channel o,
// (count, mean, sum of squared deviations) to partials (binding 9) [3 * (group * C + o)], which
// batch_norm_statistics_merge.comp (COUNTED) merges in order. Each lane's tile is taken exactly
// (its own mean first), then the lanes merged in lane order by Chan et al.'s update
// (deterministic), as batch_norm_statistics.comp merges.
layout(constant_id = 22) const bool OUT_STATS = false;
layout(binding = 9) writeonly buffer StatsPartials { float statsPartials[]; };
#include "moments_merge.glsl"
// A lane's count, then a mean and sum of squared deviations for each of at most 4 * 4 channels.
const int MOMENTS_ROW = 1 + 2 * 4 * 4;
shared float laneMoments[TILE_LANES][MOMENTS_ROW];
#else
const bool OUT_STATS = false;
#endif
// The input gradient declares the norm too (bindings 5-7), unapplied: NORM_SUMS reads its figures.
#include "input_norm.glsl"
#ifdef GRAD_INPUT
// NORM_SUMS (spec 21; OUT_VEC4, not ACCUMULATE, the whole pass one dispatch): `out` is dz, the
// gradient of relu(bn(x)) for the batch norm of bindings 5-7 and its input x (binding 8, vec4s).
// As it stores dz, each workgroup also sums per channel o the terms of that norm's backward,
// dz' = dz * (bn(x) > 0) and dz' * xhat, xhat = (x - mean) / sqrt(var + eps), in a fixed order,
// into partials (binding 9) [group * C + o] and [(groups + group) * C + o] for reduce_parts.comp:
// batch norm's backward then need not read x and dz again for them.
layout(constant_id = 21) const bool NORM_SUMS = false;
#ifdef STORAGE_LOADS
layout(binding = 8) readonly buffer NormInput4 { vec4 normInput4[]; };
#define LOAD_NORM_INPUT4(i) normInput4[i]
#else
layout(binding = 8, rgba32f) uniform readonly imageBuffer normInput4;
#define LOAD_NORM_INPUT4(i) imageLoad(normInput4, i)
#endif
layout(binding = 9) writeonly buffer NormPartials { float normPartials[]; };
// Two sums a channel of at most 4 * 4 channels a lane.
const int SUMS_ROW = 2 * 4 * 4;
shared float laneSums[TILE_LANES][SUMS_ROW];
#else
const bool NORM_SUMS = false;
#define LOAD_NORM_INPUT4(i) vec4(0.0)
#endif

layout(push_constant) uniform Push {
    uint samples;
    uint inChannels, inH, inW, inOffset, inSampleStride;
    uint outChannels, outH, outW, outOffset, outSampleStride;
    uint wOffset4, wRow4;  // first texel of the packed weights; texels per (i, r, s) row
    uint overflowAt;       // forward, FIXED_BITS > 0: the overflow flag's element
    uint statsOffset, gammaOffset, betaOffset;  // forward, INPUT_NORM; grad input, NORM_SUMS
    float eps;
    uint normInputOffset, normInputSampleStride;  // grad input, NORM_SUMS
    uint partialsOffset;  // grad input, NORM_SUMS; forward, OUT_STATS
} p;

// A tile's patch of `in`: tap (r, s) of output position (i, j) of the tile reads patch element
// [inOffset(i, r, PY) - MIN_ROW][inOffset(j, s, PX) - MIN_COL] where usedAt says it applies; the
// patch starts at row patchOrigin(b0) + MIN_ROW of `in` for a tile whose first output row is b0
// (columns alike), and its MIDDLE columns after the first -MIN_COL load as vec4s under IN_VEC4.
#ifdef GRAD_INPUT
// PARITIES (spec 18; STRIDE > 1, TH and TW multiples of STRIDE, PY = PX = 0): one dispatch covers
// every dx position instead of one a parity class, each tile all classes, whose positions then
// differ in their taps at compile time: dx row b0 + i takes taps r with (i + PAD - r) divisible by
// STRIDE from dy row b0 / STRIDE + (i + PAD - r) / STRIDE. The classes share one dy patch and dx
// rows store whole (vec4s).
layout(constant_id = 18) const int PARITIES = 0;
const int OSTEP = PARITIES != 0 ? 1 : STRIDE;
// Division rounding down, as a macro so that it folds into specialization constants.
#define FLOOR_DIV(a, b) (((a) + (b) * 64) / (b) - 64)
bool tapUsed(int tap, int parity) { return (parity + PAD - tap + R * STRIDE) % STRIDE == 0; }
int tapOffset(int tap, int parity) { return FLOOR_DIV(parity + PAD - tap, STRIDE); }
bool usedAt(int i, int tap, int parity) { return tapUsed(tap, PARITIES != 0 ? i : parity); }
bool tapLoaded(int tap, int parity) { return PARITIES != 0 || tapUsed(tap, parity); }
int inOffset(int i, int tap, int parity) { return PARITIES != 0 ? tapOffset(tap, i) : i + tapOffset(tap, parity); }
int patchOrigin(int first) { return PARITIES != 0 ? first / STRIDE : first; }
const int MIN_ROW = FLOOR_DIV(PY + PAD - R + 1, STRIDE), MIN_COL = FLOOR_DIV(PX + PAD - S + 1, STRIDE);
const int PH = PARITIES * (FLOOR_DIV(TH - 1 + PAD, STRIDE) - MIN_ROW + 1) + (1 - PARITIES) * (TH - 1 + R);
const int PW = PARITIES * (FLOOR_DIV(TW - 1 + PAD, STRIDE) - MIN_COL + 1) + (1 - PARITIES) * (TW - 1 + S);
const int MIDDLE = PARITIES * (TW / STRIDE) + (1 - PARITIES) * TW;
#else
const int OSTEP = 1;
bool usedAt(int i, int tap, int parity) { return true; }
bool tapLoaded(int tap, int parity) { return true; }
int inOffset(int i, int tap, int parity) { return i * STRIDE + tap - PAD; }
int patchOrigin(int first) { return first * STRIDE; }
const int MIN_ROW = -PAD, MIN_COL = -PAD;
const int PH = (TH - 1) * STRIDE + R, PW = (TW - 1) * STRIDE + S, MIDDLE = TW * STRIDE;
#endif

// An output's value as stored: rounded to the fixed-point grid, added to or subtracted from what
// the output held. `inside` turns false when a value leaves the grid's exact range.
float finished(float value, float before, inout bool inside) {
#ifndef GRAD_INPUT
    if (FIXED_BITS > 0) value = quantized(value);
#endif
    const float result = !ACCUMULATE ? value : SUBTRACT ? before - value : before + value;
#ifndef GRAD_INPUT
    // Both checks first, then `&&` over names: over calls it compiles to a branch per value, which
    // made a RevNet-38 step with fixed-point couplings 4-7% slower than with float ones on
    // lavapipe (0-3% this way; docs/PERFORMANCE.md).
    const bool valueExact = exactOnGrid(value), resultExact = exactOnGrid(result);
    inside = inside && valueExact && resultExact;
#endif
    return result;
}

void main() {
    // Output positions of this parity class: y = a * OSTEP + PY for a in [0, rows).
    const int rows = (int(p.outH) - PY + OSTEP - 1) / OSTEP, cols = (int(p.outW) - PX + OSTEP - 1) / OSTEP;
    const int tilesX = (cols + TW - 1) / TW, tilesY = (rows + TH - 1) / TH;
    // The output-channel tile comes from the workgroup, so weight indices are uniform across it
    // (broadcasts on GPUs; lavapipe still gathers per lane, hence SUBGROUP_LOADS); invocations spread
    // over positions and samples.
    const int tiles = tilesX * tilesY * int(p.samples);
#ifdef SUBGROUP_LOADS
    // Lanes past the last tile redo it, for the shuffles, and store nothing.
    const bool live = int(gl_GlobalInvocationID.x) < tiles;
    const int t = min(int(gl_GlobalInvocationID.x), tiles - 1);
    if (rows <= 0 || cols <= 0) return;
#else
    // NORM_SUMS, OUT_STATS: every invocation reaches the epilogue's barrier; lanes past the last tile
    // redo it and store nothing.
    const bool live = !(NORM_SUMS || OUT_STATS) || int(gl_GlobalInvocationID.x) < tiles;
    const int t = NORM_SUMS || OUT_STATS ? min(int(gl_GlobalInvocationID.x), tiles - 1) : int(gl_GlobalInvocationID.x);
    if (rows <= 0 || cols <= 0 || t >= tiles) return;
#endif
    const int n = t / (tilesX * tilesY);
    const int a0 = (t % tilesX) * TW, b0 = (t / tilesX % tilesY) * TH, o4 = int(gl_WorkGroupID.y) * TO4;

    // Where each tile row and column lies in `in`, clamped, and whether it is inside (else the
    // zero padding).
    int rowAt[PH], colAt[PW];
    float rowIn[PH], colIn[PW];
    [[unroll]] for (int i = 0; i < PH; ++i) {
        const int y = patchOrigin(b0) + MIN_ROW + i;
        rowIn[i] = (y >= 0 && y < int(p.inH)) ? 1.0 : 0.0;
        rowAt[i] = clamp(y, 0, int(p.inH) - 1) * int(p.inW);
    }
    [[unroll]] for (int j = 0; j < PW; ++j) {
        const int x = patchOrigin(a0) + MIN_COL + j;
        colIn[j] = (x >= 0 && x < int(p.inW)) ? 1.0 : 0.0;
        colAt[j] = clamp(x, 0, int(p.inW) - 1);
    }

    vec4 acc[TO4][TH][TW];
    [[unroll]] for (int k = 0; k < TO4; ++k)
        [[unroll]] for (int i = 0; i < TH; ++i)
            [[unroll]] for (int j = 0; j < TW; ++j) acc[k][i][j] = vec4(0);

    const int plane = int(p.inH * p.inW);
    int base = int(p.inOffset + uint(n) * p.inSampleStride);
    int wRow = int(p.wOffset4) + o4;
    for (int c = 0; c < int(p.inChannels); ++c, base += plane) {
        float tile[PH][PW];
        const vec3 norm = channelNorm(uint(c), p.inChannels, uvec3(p.statsOffset, p.gammaOffset, p.betaOffset), p.eps);
#ifdef SUBGROUP_LOADS
        const bool edgesLoaded = !NEIGHBOURS;
#else
        const bool edgesLoaded = true;
#endif
        [[unroll]] for (int i = 0; i < PH; ++i)
            [[unroll]] for (int j = 0; j < PW; ++j)
                if (!IN_VEC4 || (edgesLoaded && (j < -MIN_COL || j >= MIDDLE - MIN_COL)))
                    tile[i][j] = normalized(LOAD_IN(base + rowAt[i] + colAt[j]), norm) * (rowIn[i] * colIn[j]);
        if (IN_VEC4)
            [[unroll]] for (int i = 0; i < PH; ++i)
                [[unroll]] for (int q = 0; q < MIDDLE / 4; ++q) {
                    const bool inside = patchOrigin(a0) + 4 * q < int(p.inW);  // whole texels: inW % 4 == 0
                    const vec4 v = inside ? normalized(LOAD_IN4((base + rowAt[i] + patchOrigin(a0) + 4 * q) / 4), norm) * rowIn[i] : vec4(0.0);
                    [[unroll]] for (int e = 0; e < 4; ++e) tile[i][4 * q + e - MIN_COL] = v[e];
                }
#ifdef SUBGROUP_LOADS
        // Edge column j is column MIDDLE + MIN_COL + j of the left tile's middle, or
        // MIN_COL + j - MIDDLE of the right one's (select, not multiply: a lane past the
        // subgroup's end gives an undefined value).
        if (IN_VEC4 && NEIGHBOURS)
            [[unroll]] for (int i = 0; i < PH; ++i)
                [[unroll]] for (int j = 0; j < PW; ++j) {
                    if (j < -MIN_COL) {
                        const float v = subgroupShuffleUp(tile[i][MIDDLE + j], 1);
                        tile[i][j] = colIn[j] > 0.0 ? v : 0.0;
                    } else if (j >= MIDDLE - MIN_COL) {
                        const float v = subgroupShuffleDown(tile[i][j - MIDDLE], 1);
                        tile[i][j] = colIn[j] > 0.0 ? v : 0.0;
                    }
                }
#endif
        vec4 wk[R][S][TO4];
#ifdef SUBGROUP_LOADS
        // Texel m = (r * S + s) * TO4 + k is loaded by lane m % LANES, into its slot m / LANES.
        vec4 share[W_SLOTS];
        [[unroll]] for (int slot = 0; slot < W_SLOTS; ++slot) {
            const int m = min(slot * LANES + int(gl_SubgroupInvocationID), W_TEXELS - 1);
            share[slot] = LOAD_W(wRow + m / TO4 * int(p.wRow4) + m % TO4);
        }
#endif
        [[unroll]] for (int r = 0; r < R; ++r)
            [[unroll]] for (int s = 0; s < S; ++s)
                [[unroll]] for (int k = 0; k < TO4; ++k)
                    if (tapLoaded(r, PY) && tapLoaded(s, PX)) {
#ifdef SUBGROUP_LOADS
                        const int m = (r * S + s) * TO4 + k;
                        wk[r][s][k] = subgroupShuffle(share[m / LANES], m % LANES);
#else
                        wk[r][s][k] = LOAD_W(wRow + (r * S + s) * int(p.wRow4) + k);
#endif
                    }
        // Accumulators outermost: each stays in a register while its taps are summed, and the
        // operands come from memory (spilled tiles cost a load, spilled sums a load and a store).
        [[unroll]] for (int k = 0; k < TO4; ++k)
            [[unroll]] for (int i = 0; i < TH; ++i)
                [[unroll]] for (int j = 0; j < TW; ++j)
                    [[unroll]] for (int r = 0; r < R; ++r)
                        [[unroll]] for (int s = 0; s < S; ++s)
                            if (usedAt(i, r, PY) && usedAt(j, s, PX))
                                acc[k][i][j] += tile[inOffset(i, r, PY) - MIN_ROW][inOffset(j, s, PX) - MIN_COL] * wk[r][s][k];
        wRow += R * S * int(p.wRow4);
    }

    if (!live && !NORM_SUMS && !OUT_STATS) return;
    const int outPlane = int(p.outH * p.outW);
    const int outBase = int(p.outOffset + uint(n) * p.outSampleStride);
    const int normInputBase = int(p.normInputOffset + uint(n) * p.normInputSampleStride);
    bool inside = true;  // every value on the fixed-point grid within its exact range
    vec2 tileSums[TO4][4];  // NORM_SUMS: channel (o4 + k) * 4 + q's sums of dz' and dz' * (x - mean)
    [[unroll]] for (int k = 0; k < TO4; ++k)
        [[unroll]] for (int q = 0; q < 4; ++q) tileSums[k][q] = vec2(0.0);
    [[unroll]] for (int k = 0; k < TO4; ++k)
        [[unroll]] for (int q = 0; q < 4; ++q) {
            const int o = (o4 + k) * 4 + q;
            if ((!WHOLE_TILES && o >= int(p.outChannels)) || !live) break;
            vec2 sums = vec2(0.0);
            const float mean = NORM_SUMS ? figure(normStats, p.statsOffset + o) : 0.0;
            const float invStd = NORM_SUMS ? inversesqrt(figure(normStats, p.statsOffset + p.outChannels + o) + p.eps) : 0.0;
            const float scale = NORM_SUMS ? figure(normGamma, p.gammaOffset + o) * invStd : 0.0;
            const float shift = NORM_SUMS ? figure(normBeta, p.betaOffset + o) : 0.0;
            [[unroll]] for (int i = 0; i < TH; ++i) {
                const int y = (b0 + i) * OSTEP + PY;
                if (!WHOLE_TILES && b0 + i >= rows) break;
                const int rowAt = outBase + o * outPlane + y * int(p.outW);
                if (OUT_VEC4)
                    [[unroll]] for (int j = 0; j < TW; j += 4) {
                        if (!WHOLE_TILES && a0 + j >= cols) break;  // whole vec4s: outW % 4 == 0
                        const int at4 = (rowAt + a0 + j) / 4;
                        const vec4 before = ACCUMULATE ? loadBefore4(at4) : vec4(0.0);
                        vec4 result;
                        [[unroll]] for (int e = 0; e < 4; ++e) result[e] = finished(acc[k][i][j + e][q], before[e], inside);
                        outp4[at4] = result;
                        if (OUT_STATS) [[unroll]] for (int e = 0; e < 4; ++e) acc[k][i][j + e][q] = result[e];
                        if (NORM_SUMS) {
                            const vec4 centred = LOAD_NORM_INPUT4((normInputBase + o * outPlane + y * int(p.outW) + a0 + j) / 4) - mean;
                            const vec4 d = result * vec4(greaterThan(centred * scale + shift, vec4(0.0)));
                            sums += vec2(dot(d, vec4(1.0)), dot(d, centred));
                        }
                    }
                else
                    [[unroll]] for (int j = 0; j < TW; ++j)
                        if (a0 + j < cols) {
                            const int at = rowAt + (a0 + j) * OSTEP + PX;
                            outp[at] = finished(acc[k][i][j][q], ACCUMULATE ? outp[at] : 0.0, inside);
                        }
            }
            tileSums[k][q] = sums;
        }
#ifndef GRAD_INPUT
    if (FIXED_BITS > 0 && !inside) overflow[p.overflowAt] = 1u;
    if (!OUT_STATS) return;
    // This lane's moments (acc holds what it stored), then lane m < 4 * TO4 merges channel
    // o4 * 4 + m's over the lanes in order and writes it as workgroup x's part.
    const int lane = int(gl_LocalInvocationID.x);
    const int tileRows = live ? min(TH, rows - b0) : 0, tileCols = min(TW, cols - a0);
    const float count = float(tileRows * tileCols);
    laneMoments[lane][0] = count;
    [[unroll]] for (int k = 0; k < TO4; ++k)
        [[unroll]] for (int q = 0; q < 4; ++q) {
            float sum = 0.0, m2 = 0.0;
            [[unroll]] for (int i = 0; i < TH; ++i)
                [[unroll]] for (int j = 0; j < TW; ++j) sum += i < tileRows && j < tileCols ? acc[k][i][j][q] : 0.0;
            const float mean = count > 0.0 ? sum / count : 0.0;
            [[unroll]] for (int i = 0; i < TH; ++i)
                [[unroll]] for (int j = 0; j < TW; ++j) {
                    const float d = acc[k][i][j][q] - mean;
                    m2 += i < tileRows && j < tileCols ? d * d : 0.0;
                }
            laneMoments[lane][1 + 2 * (k * 4 + q)] = mean;
            laneMoments[lane][2 + 2 * (k * 4 + q)] = m2;
        }
    barrier();
    const int o = o4 * 4 + lane;
    if (lane >= 4 * TO4 || o >= int(p.outChannels)) return;
    float total = 0.0, mean = 0.0, m2 = 0.0;
    for (int l = 0; l < int(gl_WorkGroupSize.x); ++l)
        if (laneMoments[l][0] > 0.0) mergeInto(total, mean, m2, laneMoments[l][0], laneMoments[l][1 + 2 * lane], laneMoments[l][2 + 2 * lane]);
    const uint at = p.partialsOffset + 3 * (gl_WorkGroupID.x * p.outChannels + uint(o));
    statsPartials[at] = total;
    statsPartials[at + 1] = mean;
    statsPartials[at + 2] = m2;
#else
    if (!NORM_SUMS) return;
    // The workgroup's sums: lane m < 8 * TO4 adds column m of every lane's, in lane order
    // (deterministic), and writes it as workgroup x's part of channel o4 * 4 + m / 2.
    const int lane = int(gl_LocalInvocationID.x);
    [[unroll]] for (int k = 0; k < TO4; ++k)
        [[unroll]] for (int q = 0; q < 4; ++q) {
            laneSums[lane][2 * (k * 4 + q)] = tileSums[k][q].x;
            laneSums[lane][2 * (k * 4 + q) + 1] = tileSums[k][q].y;
        }
    barrier();
    const int o = o4 * 4 + lane / 2;
    if (lane >= 8 * TO4 || o >= int(p.outChannels)) return;
    float total = 0.0;
    for (int l = 0; l < int(gl_WorkGroupSize.x); ++l) total += laneSums[l][lane];
    const bool xhatSum = lane % 2 == 1;  // dz' * (x - mean), scaled to dz' * xhat
    if (xhatSum) total *= inversesqrt(figure(normStats, p.statsOffset + p.outChannels + o) + p.eps);
    normPartials[p.partialsOffset + ((xhatSum ? gl_NumWorkGroups.x : 0) + gl_WorkGroupID.x) * p.outChannels + o] = total;
#endif
}
