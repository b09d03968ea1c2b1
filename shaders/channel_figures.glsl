// Per-channel figures (batch-norm statistics, gamma, beta and their gradients) bound as R32F
// texel buffers, read with figure(binding, element). Every lane of an invocation group reads the
// same channel's figures: lavapipe reads a storage buffer in a loop over the SIMD lanes with a
// bounds check each, and gathers texels in one instruction, which made a convolution with its
// input's batch norm fused 1.1-1.25x faster on 1x1 layers (docs/PERFORMANCE.md). The figures of
// a layer are a few thousand floats at most, always within the device's texel limits.
float figure(samplerBuffer figures, uint i) { return texelFetch(figures, int(i)).r; }
