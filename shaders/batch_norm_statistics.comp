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
//   PARTS (spec 3) > 1, the GPU variant: workgroup (c, part) covers the part's share of the samples
//           and writes its mean and sum of squared deviations to partials[2 * (part * C + c)];
//           batch_norm_statistics_merge.comp then merges the parts in order, MERGE and UPDATE.
// Layout: channels.glsl (VEC4 loads when the layout allows). Dispatch: one workgroup per channel
// (x) and part (y); its size (spec 0) a power of two, each invocation walking items i, i+size, ...
// of each sample.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
#include "workgroup_sum.glsl"
layout(constant_id = 1) const bool UPDATE = false;
layout(constant_id = 2) const bool MERGE = false;
layout(constant_id = 3) const uint PARTS = 1;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) buffer Stats { float stats[]; };
layout(binding = 2) buffer Running { float running[]; };
layout(binding = 3) buffer Partials { float partials[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x;
    uint statsOffset, runningOffset;
    float momentum;
    uint priorSamples;  // MERGE: samples the statistics in stats cover
    uint partialsOffset;
} p;

#include "batch_norm_merge.glsl"

// Sum over this invocation's items of f(x), f applied to a float or a vec4 (then summed).
#define SUM_ITEMS(F)                                                                              \
    {                                                                                             \
        for (uint n = firstSample; n < endSample; ++n) {                                          \
            const uint start = at(p.x, n, c, p.plane, 0);                                         \
            for (uint i = gl_LocalInvocationID.x; i < planeItems(p.plane); i += gl_WorkGroupSize.x) { \
                if (VEC4) { const vec4 v = x4[item(start, i)]; local += dot(F, vec4(1.0)); }      \
                else { const float v = x[item(start, i)]; local += F; }                           \
            }                                                                                     \
        }                                                                                         \
    }

void main() {
    const uint c = gl_WorkGroupID.x, part = gl_WorkGroupID.y;
    const uint firstSample = partStart(part), endSample = partStart(part + 1);
    const float count = float((endSample - firstSample) * p.plane);
    float local = 0.0;
    SUM_ITEMS(v)
    const float mean = workgroupSum(vec2(local, 0.0)).x / count;
    local = 0.0;
    SUM_ITEMS((v - mean) * (v - mean))
    const float m2 = workgroupSum(vec2(local, 0.0)).x;
    if (gl_LocalInvocationID.x != 0) return;
    if (PARTS > 1) {
        partials[p.partialsOffset + 2 * (part * p.C + c)] = mean;
        partials[p.partialsOffset + 2 * (part * p.C + c) + 1] = m2;
        return;
    }
    storeStatistics(c, count, mean, m2);
}
