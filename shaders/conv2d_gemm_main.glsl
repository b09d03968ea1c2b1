// The body of the conv2d_gemm_*.comp shaders: see conv2d_gemm.glsl.

// The range of k this workgroup sums over, in BK steps: all of it, unless the entry shader splits
// it (split-K). STEP(k0) runs at the start of each step: set-up its LOAD_A and LOAD_B share.
#ifndef K_BEGIN
#define K_BEGIN 0
#define K_END K_SIZE
#endif
#ifndef STEP
#define STEP(k0)
#endif

void main() {
    const int t = int(gl_LocalInvocationID.x);
    const int m0 = int(gl_WorkGroupID.y) * BM, n0 = int(gl_WorkGroupID.x) * BN;
    // B's column this invocation stages (THREADS is a multiple of BN): fixed for the whole loop.
    const int bColumn = t % BN, bRow = t / BN;
    const int n = n0 + bColumn;
    COLUMN(n)

    vec4 acc[TM][TN / 4];
    [[unroll]] for (int i = 0; i < TM; ++i)
        [[unroll]] for (int j = 0; j < TN / 4; ++j) acc[i][j] = vec4(0.0);

    const int tm = t / THREADS_N, tn = t % THREADS_N;  // rows tm*TM.., columns tn*TN..
    const int kLimit = K_END;
    for (int k0 = K_BEGIN; k0 < kLimit; k0 += BK) {
        STEP(k0)
        [[unroll]] for (int q = 0; q < (BM * BK + THREADS - 1) / THREADS; ++q) {
            const int e = t + q * THREADS, mm = e / BK, kk = e % BK, m = m0 + mm, k = k0 + kk;
            if (e < BM * BK) tileA[kk][mm / 4][mm % 4] = (m < M_SIZE && k < kLimit) ? LOAD_A(m, k) : 0.0;
        }
        [[unroll]] for (int q = 0; q < BK * BN / THREADS; ++q) {
            const int kk = bRow + q * (THREADS / BN), k = k0 + kk;
            tileB[kk][bColumn / 4][bColumn % 4] = (n < N_SIZE && k < kLimit) ? LOAD_B(k) : 0.0;
        }
        barrier();
        [[unroll]] for (int kk = 0; kk < BK; ++kk) {
            const vec4 a = tileA[kk][tm];
            vec4 b[TN / 4];
            [[unroll]] for (int j = 0; j < TN / 4; ++j) b[j] = tileB[kk][tn * (TN / 4) + j];
            [[unroll]] for (int i = 0; i < TM; ++i)
                [[unroll]] for (int j = 0; j < TN / 4; ++j) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }

    [[unroll]] for (int i = 0; i < TM; ++i) {
        const int m = m0 + tm * TM + i;
        [[unroll]] for (int j = 0; j < TN; ++j) {
            const int nOut = n0 + tn * TN + j;
            if (m < M_SIZE && nOut < N_SIZE) STORE(m, nOut, acc[i][j / 4][j % 4]);
        }
    }
}
