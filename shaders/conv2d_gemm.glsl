// Shared-memory tiled implicit GEMM, the GPU variant's convolution (conv2d_gemm_forward.comp,
// _grad_input.comp, _grad_weight.comp). Each pass is a matrix product
//   out[m][n] (+)= sum over k of A[m][k] * B[k][n]
// whose operands are gathered straight from the NCHW tensors and the unpacked weights
// w[K][C][R][S] (no im2col buffer, no weight packing):
//   forward:     m = output channel o, n = (sample, y, x) output position, k = (i, r, s);
//                A = w[o][i][r][s], B = x[sample][i][y*STRIDE-PAD+r][x*STRIDE-PAD+s] (0 outside).
//   grad input:  m = input channel i, n = (sample, y, x) input position of one parity class,
//                k = (o, r, s) over the taps that class uses; A = w[o][i][r][s],
//                B = dy[sample][o][(y+PAD-r)/STRIDE][(x+PAD-s)/STRIDE] (0 outside).
//   grad weight: m = o, n = (i, r, s), k = (sample, y, x) output position, the k range split into
//                parts (split-K: one partial sum per part, reduce_parts.comp sums them in order);
//                A = dy[sample][o][y][x], B = x[sample][i][y*STRIDE-PAD+r][x*STRIDE-PAD+s].
// A workgroup computes a BM x BN block of out (64 x 64, or 32 x 128 and 16 x 256 where m has few
// rows: a layer of 16 channels would leave three quarters of a 64-row block idle): per step it
// stages BM x BK of A and BK x BN of B in shared memory (as vec4s), and each invocation
// accumulates TM x TN neighbouring outputs, reading them from shared memory a vec4 at a time.
// Dispatch: x = blocks of n, y = blocks of m, z = parts (grad weight; else 1); workgroup
// 1024 / TN invocations (256 or 128, at least BN). Specialization: 1 = R, 2 = S, 3 = STRIDE,
// 9 = PAD, 4 = TN, 5 = BM, 11 = ACCUMULATE, 12 = SUBTRACT (with ACCUMULATE: out -= the result, a
// coupling's inverse).
// An entry shader includes this file, declares its bindings and defines M_SIZE, N_SIZE, K_SIZE,
// LOAD_A(m, k), the per-invocation set-up of a column (COLUMN(n)), LOAD_B(k) for that column and
// STORE(m, n, value), then includes conv2d_gemm_main.glsl.

layout(constant_id = 1) const int R = 3;
layout(constant_id = 2) const int S = 3;
layout(constant_id = 3) const int STRIDE = 1;
layout(constant_id = 9) const int PAD = 1;
layout(constant_id = 4) const int TN = 4;  // 4: 256 invocations; 8: 128, the Vulkan minimum
layout(constant_id = 5) const int BM = 64;  // 64, 32 or 16; BM x BN = 4096
layout(constant_id = 11) const bool ACCUMULATE = false;
layout(constant_id = 12) const bool SUBTRACT = false;

const int BN = 4096 / BM, BK = 8, TM = 4;
const int THREADS_N = BN / TN, THREADS = (BM / TM) * THREADS_N;
layout(local_size_x_id = 0) in;  // THREADS, set by the host to match TN and BM

// Sized for the largest BM and BN: shared arrays sized by specialization constants are
// miscompiled by older MoltenVK/SPIRV-Cross. 10 KiB.
shared vec4 tileA[BK][64 / 4];
shared vec4 tileB[BK][256 / 4];

// The convolution's input (x, or dx for the input gradient) and output (y, or dy), N samples
// sampleStride floats apart from offset, and where the weights (or the weight gradient's target)
// start. Host mirror: GemmPush in kernels/conv2d.cpp.
layout(push_constant) uniform Push {
    int N, C, H, W, inOffset, inSampleStride;
    int K, OH, OW, outOffset, outSampleStride;
    int wOffset;
    int overflowAt;  // forward, FIXED_BITS > 0: the overflow flag's element
} p;
