#version 450
// y[e] = sum over q of x[q * count + e], q in [0, parts), summed in order: the deterministic
// second half of a reduction whose first half wrote one partial result per part. ACCUMULATE
// (specialization 1) adds the sum to y: a reduction over batch chunks, one after another.
// Dispatch: one invocation per output element, 1-D, workgroup size from specialization 0.
// TEXELS (specialization 2): x is read through binding 2, an R32F texel view of it, where it fits
// the texel limits (lavapipe reads a storage buffer lane by lane, and gathers texels).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUMULATE = false;
layout(constant_id = 2) const bool TEXELS = false;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };
layout(binding = 2) uniform samplerBuffer xTexels;
float loadX(uint i) { return TEXELS ? texelFetch(xTexels, int(i)).r : x[i]; }

layout(push_constant) uniform Push {
    uint count, parts, xOffset, yOffset;
} p;

void main() {
    for (uint e = gl_GlobalInvocationID.x; e < p.count; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        float sum = 0.0;
        for (uint q = 0; q < p.parts; ++q) sum += loadX(p.xOffset + q * p.count + e);
        y[p.yOffset + e] = ACCUMULATE ? y[p.yOffset + e] + sum : sum;
    }
}
