#version 450
// Batch norm, training mode, first pass: per channel c the batch mean and biased variance of x
// over N*H*W, in two passes over the data (the sum, then the squared deviations from the mean):
// stable where E[x^2]-E[x]^2 in float32 is not, and deterministic (fixed-order tree sums).
//   stats[c] = mean, stats[C + c] = variance   (2*C floats a caller may keep and reuse)
//   UPDATE: running[c] += momentum * (mean - running[c]), running[C + c] likewise toward the
//           unbiased variance (as PyTorch does).
//   MERGE (spec 2): this dispatch covers a later chunk of the batch; its statistics are merged
//           with those in stats, over priorSamples earlier samples (Chan et al.'s pairwise
//           update: stable, and deterministic as chunks run in order). UPDATE then belongs to the
//           last chunk and sees the whole batch.
// Layout: channels.glsl (VEC4 loads when the layout allows). Dispatch: one workgroup per channel
// (x); its size (spec 0) a power of two, each invocation walking items i, i+size, ... of each sample.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
#include "workgroup_sum.glsl"
layout(constant_id = 1) const bool UPDATE = false;
layout(constant_id = 2) const bool MERGE = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) buffer Stats { float stats[]; };
layout(binding = 2) buffer Running { float running[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x;
    uint statsOffset, runningOffset;
    float momentum;
    uint priorSamples;  // MERGE: samples the statistics in stats cover
} p;

// Sum over this invocation's items of f(x), f applied to a float or a vec4 (then summed).
#define SUM_ITEMS(F)                                                                              \
    {                                                                                             \
        for (uint n = 0; n < p.N; ++n) {                                                          \
            const uint start = at(p.x, n, c, p.plane, 0);                                         \
            for (uint i = gl_LocalInvocationID.x; i < planeItems(p.plane); i += gl_WorkGroupSize.x) { \
                if (VEC4) { const vec4 v = x4[item(start, i)]; local += dot(F, vec4(1.0)); }      \
                else { const float v = x[item(start, i)]; local += F; }                           \
            }                                                                                     \
        }                                                                                         \
    }

void main() {
    const uint c = gl_WorkGroupID.x;
    const float count = float(p.N * p.plane);
    float local = 0.0;
    SUM_ITEMS(v)
    const float mean = workgroupSum(vec2(local, 0.0)).x / count;
    local = 0.0;
    SUM_ITEMS((v - mean) * (v - mean))
    const float m2 = workgroupSum(vec2(local, 0.0)).x;
    if (gl_LocalInvocationID.x != 0) return;
    float total = count, merged = mean, mergedM2 = m2;
    if (MERGE) {
        const float prior = float(p.priorSamples * p.plane), priorMean = stats[p.statsOffset + c];
        const float delta = mean - priorMean;
        total = prior + count;
        merged = priorMean + delta * (count / total);
        mergedM2 = stats[p.statsOffset + p.C + c] * prior + m2 + delta * delta * (prior * count / total);
    }
    const float variance = mergedM2 / total;
    stats[p.statsOffset + c] = merged;
    stats[p.statsOffset + p.C + c] = variance;
    if (UPDATE) {
        const float unbiased = total > 1.0 ? mergedM2 / (total - 1.0) : variance;
        running[p.runningOffset + c] += p.momentum * (merged - running[p.runningOffset + c]);
        running[p.runningOffset + p.C + c] += p.momentum * (unbiased - running[p.runningOffset + p.C + c]);
    }
}
