#version 450
// Batch norm, training mode, first pass: per channel c the batch mean and biased variance of x
// over N*H*W, merged as (count, mean, M2) triples in a fixed order (Welford per invocation,
// Chan's formula across them): deterministic, and stable where E[x^2]-E[x]^2 in float32 is not.
//   stats[c] = mean, stats[C + c] = variance   (2*C floats a caller may keep and reuse)
//   UPDATE: running[c] += momentum * (mean - running[c]), running[C + c] likewise toward the
//           unbiased variance (as PyTorch does).
// Layout: channels.glsl. Dispatch: one workgroup per channel (x); workgroup size (spec 0) a power
// of two no larger than H*W, each invocation walking positions i, i+size, ... of every sample.
#extension GL_GOOGLE_include_directive : require
#include "channels.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool UPDATE = false;

layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) writeonly buffer Stats { float stats[]; };
layout(binding = 2) buffer Running { float running[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x;
    uint statsOffset, runningOffset;
    float momentum;
} p;

shared vec3 partial[gl_WorkGroupSize.x];  // (count, mean, M2)

vec3 merge(vec3 a, vec3 b) {
    const float n = a.x + b.x;
    if (n == 0.0) return a;
    const float delta = b.y - a.y;
    return vec3(n, a.y + delta * (b.x / n), a.z + b.z + delta * delta * (a.x * b.x / n));
}

void main() {
    const uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
    vec3 s = vec3(0.0);
    for (uint n = 0; n < p.N; ++n)
        for (uint i = t; i < p.plane; i += gl_WorkGroupSize.x) {
            const float v = texelFetch(x, int(at(p.x, n, c, p.plane, i))).r;
            s.x += 1.0;
            const float delta = v - s.y;
            s.y += delta / s.x;
            s.z += delta * (v - s.y);
        }
    partial[t] = s;
    for (uint half_ = gl_WorkGroupSize.x / 2; half_ > 0; half_ /= 2) {
        barrier();
        if (t < half_) partial[t] = merge(partial[t], partial[t + half_]);
    }
    if (t != 0) return;
    const vec3 total = partial[0];
    const float variance = total.z / total.x;
    stats[p.statsOffset + c] = total.y;
    stats[p.statsOffset + p.C + c] = variance;
    if (UPDATE) {
        const float unbiased = total.x > 1.0 ? total.z / (total.x - 1.0) : variance;
        running[p.runningOffset + c] += p.momentum * (total.y - running[p.runningOffset + c]);
        running[p.runningOffset + p.C + c] += p.momentum * (unbiased - running[p.runningOffset + p.C + c]);
    }
}
