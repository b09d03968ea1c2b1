#version 450
// Packs conv weights w[K][C][R][S] (the model's layout) for conv2d_tile.glsl:
//   forward:    packed[c][r][s][k]   (TRANSPOSE = 0)
//   grad input: packed[k][r][s][c]   (TRANSPOSE = 1)
// the innermost axis zero-padded to `rowLength` so that tiles load whole vec4s without checks.
// Dispatch: one invocation per packed element, 1-D, workgroup size from specialization 0.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool TRANSPOSE = false;

layout(binding = 0) readonly buffer W { float w[]; };
layout(binding = 1) writeonly buffer Packed { float packed[]; };

layout(push_constant) uniform Push {
    uint K, C, taps;  // taps = R * S
    uint rowLength;   // padded length of the innermost axis
    uint wOffset, packedOffset;
} p;

void main() {
    const uint outer = TRANSPOSE ? p.K : p.C, inner = TRANSPOSE ? p.C : p.K;
    const uint total = outer * p.taps * p.rowLength;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint o = e % p.rowLength, tap = e / p.rowLength % p.taps, i = e / (p.rowLength * p.taps);
        float value = 0.0;
        if (o < inner) {
            const uint k = TRANSPOSE ? i : o, c = TRANSPOSE ? o : i;
            value = w[p.wOffset + (k * p.C + c) * p.taps + tap];
        }
        packed[p.packedOffset + e] = value;
    }
}
