#version 450
// Fully connected layer, parameter gradients, summed over the batch in order (deterministic):
//   dw[o][i] = sum_n dy[n][o] * x[n][i],   db[o] = sum_n dy[n][o]
// Dispatch: one invocation per element of dw (O*I) and of db (O), 1-D: e < O*I is dw[e], the
// rest db; a grid capped by the device's workgroup count loops over the rest. Overwrites both.
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
layout(binding = 2) writeonly buffer DW { float dw[]; };
layout(binding = 3) writeonly buffer DB { float db[]; };

layout(push_constant) uniform Push { uint N, I, O, xOffset, dyOffset, dwOffset, dbOffset; } p;

void main() {
    for (uint e = gl_GlobalInvocationID.x; e < p.O * p.I + p.O; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        if (e < p.O * p.I) {
            const uint o = e / p.I, i = e % p.I;
            float sum = 0.0;
            for (uint n = 0; n < p.N; ++n) sum += dy[p.dyOffset + n * p.O + o] * x[p.xOffset + n * p.I + i];
            dw[p.dwOffset + e] = sum;
        } else {
            const uint o = e - p.O * p.I;
            float sum = 0.0;
            for (uint n = 0; n < p.N; ++n) sum += dy[p.dyOffset + n * p.O + o];
            db[p.dbOffset + o] = sum;
        }
    }
}
