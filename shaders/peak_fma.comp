#version 450
// Peak fp32 FMA throughput probe for `revnet bench`: each invocation runs 8 independent vec4
// multiply-add chains for `iterations` steps (64 FLOPs a step) and writes their sum, so the
// compiler can drop none of them. out[i] is one float per invocation. Dispatch: 1-D;
// `iterations` a multiple of UNROLL.
// The steps run UNROLL at a time: lavapipe blends every value a loop carries with the loop's
// execution mask on each iteration, so a loop of single steps spends a third of its vector work
// on blends and measured 105-110 GFLOP/s where four steps an iteration measured 148-153 (and a
// 3x3 convolution, which blends once per nine multiply-adds, 103% of the lower figure).
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x_id = 0) in;
const int UNROLL = 4;  // an int: as a uint, compared with the int counter, it kept glslc from unrolling (84 GFLOP/s)

layout(binding = 0) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
    uint iterations;
    float scale;  // 1 - 2^-20: keeps the chains finite without being a constant the compiler folds
} p;

void main() {
    const uint id = gl_GlobalInvocationID.x;
    vec4 a = vec4(id) * 1e-6, b = a + 1.0, c = a + 2.0, d = a + 3.0;
    vec4 e = a + 4.0, f = a + 5.0, g = a + 6.0, h = a + 7.0;
    const vec4 m = vec4(p.scale), k = vec4(1e-7);
    for (uint i = 0; i < p.iterations; i += uint(UNROLL))
        [[unroll]] for (int u = 0; u < UNROLL; ++u) {
            a = fma(a, m, k); b = fma(b, m, k); c = fma(c, m, k); d = fma(d, m, k);
            e = fma(e, m, k); f = fma(f, m, k); g = fma(g, m, k); h = fma(h, m, k);
        }
    const vec4 sum = a + b + c + d + e + f + g + h;
    result[id] = sum.x + sum.y + sum.z + sum.w;
}
