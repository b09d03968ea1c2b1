#version 450
// Fully connected layer: y[n][o] = b[o] + sum_i x[n][i] * w[o][i]. Dense row-major x (N x I),
// w (O x I), b (O), y (N x O). Dispatch: 1-D, one invocation per output element; a grid capped
// by the device's workgroup count loops over the rest.
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Wt { float w[]; };
layout(binding = 2) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push { uint N, I, O, xOffset, wOffset, bOffset, yOffset; } p;

void main() {
    for (uint e = gl_GlobalInvocationID.x; e < p.N * p.O; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const uint n = e / p.O, o = e % p.O;
        float sum = b[p.bOffset + o];
        for (uint i = 0; i < p.I; ++i) sum += x[p.xOffset + n * p.I + i] * w[p.wOffset + o * p.I + i];
        y[p.yOffset + e] = sum;
    }
}
