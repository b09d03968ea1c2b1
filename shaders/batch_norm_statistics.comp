#version 450
// Batch norm, training mode, first pass: per channel c the batch mean and biased variance of x
// over N*H*W in one pass over the data: each invocation keeps Welford's running mean and sum of
// squared deviations of its items (a vec4 at a time: the four values' own mean and deviations,
// merged in), and the workgroup merges them with Chan et al.'s pairwise update in a fixed tree.
// Stable where E[x^2]-E[x]^2 in float32 is not, deterministic, and one read of x instead of the
// two a two-pass (sum, then squared deviations) needs.
//   stats[c] = mean, stats[C + c] = variance   (2*C floats a caller may keep and reuse)
//   UPDATE: running[c] += momentum * (mean - running[c]), running[C + c] likewise toward the
//           unbiased variance (as PyTorch does).
//   MERGE (spec 2): this dispatch covers a later chunk of the batch; its statistics are merged
//           with those in stats, over priorSamples earlier samples (Chan et al.'s pairwise
//           update: stable, and deterministic as chunks run in order). UPDATE then belongs to the
//           last chunk and sees the whole batch.
//   PARTS (spec 3) > 1, the split reduction: workgroup (c, part) covers the part's share of the samples
//           and writes its mean and sum of squared deviations to partials[2 * (part * C + c)];
//           batch_norm_statistics_merge.comp then merges the parts in order, MERGE and UPDATE.
// Layout: channels.glsl (VEC4 loads when the layout allows). Dispatch: one workgroup per channel
// (x) and part (y); its size (spec 0) a power of two, each invocation walking items i, i+size, ...
// of each sample.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
layout(constant_id = 1) const bool UPDATE = false;
layout(constant_id = 2) const bool MERGE = false;
layout(constant_id = 3) const uint PARTS = 1;
// STEPS_N > 0 (spec 4, 5): the loops unrolled, STEPS_N samples by STEPS_I items an invocation,
// steps past the part or the plane loaded clamped in range and not merged (lavapipe masks loads
// in loops; as in batch_norm_backward_reduce.comp).
layout(constant_id = 4) const uint STEPS_N = 0;
layout(constant_id = 5) const uint STEPS_I = 0;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) buffer Stats { float stats[]; };
layout(binding = 2) buffer Running { float running[]; };
layout(binding = 3) buffer Partials { float partials[]; };
layout(binding = 4, rgba32f) uniform readonly imageBuffer xTexels;  // x again, read under TEXELS

layout(push_constant) uniform Push {
    uint N, C, plane;
    View x;
    uint statsOffset, runningOffset;
    float momentum;
    uint priorSamples;  // MERGE: samples the statistics in stats cover
    uint partialsOffset;
} p;

#include "batch_norm_merge.glsl"

// The workgroup-wide (count, mean, m2) of one per invocation, merged in a fixed tree order and
// returned to every invocation; the workgroup size a power of two of at most MAX_WORKGROUP.
const uint MAX_WORKGROUP = 256;
shared vec3 workgroupMoments[MAX_WORKGROUP];

vec3 mergeWorkgroup(vec3 own) {
    const uint t = gl_LocalInvocationID.x;
    workgroupMoments[t] = own;
    for (uint half_ = gl_WorkGroupSize.x / 2; half_ > 0; half_ /= 2) {
        barrier();
        if (t < half_) {
            vec3 a = workgroupMoments[t];
            const vec3 b = workgroupMoments[t + half_];
            if (b.x > 0.0) mergeInto(a.x, a.y, a.z, b.x, b.y, b.z);
            workgroupMoments[t] = a;
        }
    }
    barrier();
    const vec3 total = workgroupMoments[0];
    barrier();
    return total;
}

// Item i of the row starting at `start`, merged into (count, mean, m2).
void mergeItem(inout float count, inout float mean, inout float m2, uint start, uint i) {
    if (VEC4) {
        const vec4 v = LOAD4(x4, xTexels, item(start, i));
        const float m = dot(v, vec4(0.25));
        const vec4 d = v - m;
        mergeInto(count, mean, m2, 4.0, m, dot(d, d));
    } else {
        mergeInto(count, mean, m2, 1.0, x[item(start, i)], 0.0);
    }
}

void main() {
    const uint c = gl_WorkGroupID.x, part = gl_WorkGroupID.y;
    const uint first = partStart(part), end = partStart(part + 1), items = planeItems(p.plane);
    float count = 0.0, mean = 0.0, m2 = 0.0;
    if (STEPS_N > 0) {
        [[unroll]] for (uint k = 0; k < STEPS_N; ++k)
            [[unroll]] for (uint j = 0; j < STEPS_I; ++j) {
                const uint n = min(first + k, p.N - 1), i = gl_LocalInvocationID.x + j * gl_WorkGroupSize.x;
                float newCount = count, newMean = mean, newM2 = m2;
                mergeItem(newCount, newMean, newM2, at(p.x, n, c, p.plane, 0), min(i, items - 1));
                const bool counted = all(bvec2(first + k < end, i < items));
                count = counted ? newCount : count;
                mean = counted ? newMean : mean;
                m2 = counted ? newM2 : m2;
            }
    } else {
        for (uint n = first; n < end; ++n)
            for (uint i = gl_LocalInvocationID.x; i < items; i += gl_WorkGroupSize.x)
                mergeItem(count, mean, m2, at(p.x, n, c, p.plane, 0), i);
    }
    const vec3 total = mergeWorkgroup(vec3(count, mean, m2));
    if (gl_LocalInvocationID.x != 0) return;
    if (PARTS > 1) {
        partials[p.partialsOffset + 2 * (part * p.C + c)] = total.y;
        partials[p.partialsOffset + 2 * (part * p.C + c) + 1] = total.z;
        return;
    }
    storeStatistics(c, total.x, total.y, total.z);
}
