// Shared by batch_norm_statistics.comp and batch_norm_statistics_merge.comp, included after their
// push constants (N, C, plane, statsOffset, runningOffset, momentum, priorSamples), the stats and
// running buffers, and the MERGE, UPDATE and PARTS constants.

// The first sample of a part of the dispatch's N samples (PARTS parts, as even as they divide).
uint partStart(uint part) { return part * p.N / PARTS; }

#include "moments_merge.glsl"

// Stores channel c's mean and biased variance from a mean and sum of squared deviations over
// `count` values: first merged (MERGE) with the statistics in stats over priorSamples earlier
// samples, then (UPDATE) moving the running statistics toward them, the variance unbiased.
void storeStatistics(uint c, float count, float mean, float m2) {
    if (MERGE) {
        float prior = float(p.priorSamples * p.plane), priorMean = stats[p.statsOffset + c];
        float priorM2 = stats[p.statsOffset + p.C + c] * prior;
        mergeInto(prior, priorMean, priorM2, count, mean, m2);
        count = prior, mean = priorMean, m2 = priorM2;
    }
    const float variance = m2 / count;
    stats[p.statsOffset + c] = mean;
    stats[p.statsOffset + p.C + c] = variance;
    if (UPDATE) {
        const float unbiased = count > 1.0 ? m2 / (count - 1.0) : variance;
        running[p.runningOffset + c] += p.momentum * (mean - running[p.runningOffset + c]);
        running[p.runningOffset + p.C + c] += p.momentum * (unbiased - running[p.runningOffset + p.C + c]);
    }
}
