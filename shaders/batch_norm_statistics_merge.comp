#version 450
// Batch norm statistics, second half of the split reduction: per channel c, the
// PARTS partial results of batch_norm_statistics.comp (mean and sum of squared deviations of each
// part's samples, partials[2 * (part * C + c)]) merged in part order (deterministic), then stored
// as that shader stores them (MERGE with earlier batch chunks, UPDATE of the running statistics).
// With SHARES, the partials are instead the statistics of each process's share of a synchronized
// batch norm, as batch_norm_statistics.comp stores them: part p's [mean C, variance C] at
// partials[2 * p * C]. With COUNTED, each part is a convolution workgroup's (count, mean, sum of
// squared deviations) of what it stored (conv2d_tile.glsl's OUT_STATS) at partials[3 * (part * C + c)],
// parts of no values skipped.
// Dispatch: one invocation per channel, 1-D, workgroup size from specialization 0.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool UPDATE = false;
layout(constant_id = 2) const bool MERGE = false;
layout(constant_id = 3) const uint PARTS = 1;
layout(constant_id = 4) const bool SHARES = false;
layout(constant_id = 5) const bool COUNTED = false;

layout(binding = 0) buffer Stats { float stats[]; };
layout(binding = 1) buffer Running { float running[]; };
layout(binding = 2) readonly buffer Partials { float partials[]; };

layout(push_constant) uniform Push {
    uint N, C, plane;
    uint statsOffset, runningOffset;
    float momentum;
    uint priorSamples;
    uint partialsOffset;
} p;

#include "batch_norm_merge.glsl"

void main() {
    const uint c = gl_GlobalInvocationID.x;
    if (c >= p.C) return;
    float count = 0.0, mean = 0.0, m2 = 0.0;
    for (uint part = 0; part < PARTS; ++part) {
        if (COUNTED) {
            const uint at = p.partialsOffset + 3 * (part * p.C + c);
            if (partials[at] > 0.0) mergeInto(count, mean, m2, partials[at], partials[at + 1], partials[at + 2]);
            continue;
        }
        const float partCount = float((partStart(part + 1) - partStart(part)) * p.plane);
        const uint at = p.partialsOffset + (SHARES ? 2 * part * p.C + c : 2 * (part * p.C + c));
        const float partMean = partials[at], partM2 = SHARES ? partials[at + p.C] * partCount : partials[at + 1];
        if (part == 0) count = partCount, mean = partMean, m2 = partM2;
        else mergeInto(count, mean, m2, partCount, partMean, partM2);
    }
    storeStatistics(c, count, mean, m2);
}
