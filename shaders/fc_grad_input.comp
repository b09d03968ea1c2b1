#version 450
// Fully connected layer, gradient of the input: dx[n][i] = sum_o dy[n][o] * w[o][i].
// Dense row-major dy (N x O), w (O x I), dx (N x I). Dispatch: 1-D, one invocation per dx
// element; a grid capped by the device's workgroup count loops over the rest.
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) readonly buffer Wt { float w[]; };
layout(binding = 2) writeonly buffer DX { float dx[]; };

layout(push_constant) uniform Push { uint N, I, O, dyOffset, wOffset, dxOffset; } p;

void main() {
    for (uint e = gl_GlobalInvocationID.x; e < p.N * p.I; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint n = e / p.I, i = e % p.I;
        float sum = 0.0;
        for (uint o = 0; o < p.O; ++o) sum += dy[p.dyOffset + n * p.O + o] * w[p.wOffset + o * p.I + i];
        dx[p.dxOffset + e] = sum;
    }
}
