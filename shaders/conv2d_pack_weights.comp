#version 450
// Packs conv weights w[K][C][R][S] (the model's layout) for conv2d_tile.glsl:
//   forward:    packed[c][r][s][k]   (TRANSPOSE = 0)
//   grad input: packed[k][r][s][c]   (TRANSPOSE = 1)
// the innermost axis zero-padded to `rowLength` (a multiple of 4) so that tiles load whole vec4s
// without checks. Dispatch: one invocation per packed vec4, 1-D, workgroup size from
// specialization 0. The taps are a constant and each invocation writes four values because
// lavapipe divides by a push constant one lane at a time: a division per packed value cost more
// than the copy.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool TRANSPOSE = false;
layout(constant_id = 2) const uint TAPS = 9;  // R * S

layout(binding = 0) readonly buffer W { float w[]; };
layout(binding = 1) writeonly buffer Packed { vec4 packed[]; };

layout(push_constant) uniform Push {
    uint K, C;
    uint rowLength4;  // vec4s a packed row holds
    uint wOffset, packedOffset4;
} p;

void main() {
    const uint outer = TRANSPOSE ? p.K : p.C, inner = TRANSPOSE ? p.C : p.K;
    const uint total = outer * TAPS * p.rowLength4;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint row = e / p.rowLength4, tap = row % TAPS, i = row / TAPS;
        const uint o0 = (e - row * p.rowLength4) * 4;
        vec4 value = vec4(0.0);
        for (uint j = 0; j < 4; ++j) {
            const uint o = o0 + j, k = TRANSPOSE ? i : o, c = TRANSPOSE ? o : i;
            if (o < inner) value[j] = w[p.wOffset + (k * p.C + c) * TAPS + tap];
        }
        packed[p.packedOffset4 + e] = value;
    }
}
