// Chan et al.'s pairwise update: (count, mean, m2) of one set grown by another's, m2 the sum of
// squared deviations from the mean. Stable where E[x^2] - E[x]^2 in float32 is not; merged in a
// fixed order, deterministic. Shared by batch norm's statistics and the convolution epilogue that
// takes them (conv2d_tile.glsl's OUT_STATS).
void mergeInto(inout float count, inout float mean, inout float m2, float otherCount, float otherMean, float otherM2) {
    const float total = count + otherCount, delta = otherMean - mean;
    mean += delta * (otherCount / total);
    m2 += otherM2 + delta * delta * (count * otherCount / total);
    count = total;
}
