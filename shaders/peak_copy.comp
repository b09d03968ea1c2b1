#version 450
// Copy-bandwidth probe for `revnet bench`: y = x, one vec4 per invocation and nothing else, read
// the fastest way the memory-bound kernels read (RGBA32F texels under TEXELS, where the device's
// texel limit allows: on lavapipe a vec4 storage load costs more than its store, so a copy read
// from storage measured half of what the kernels reach), written to a storage buffer as they write.
// Memory-bound kernels are measured against it.
// Dispatch: 1-D, exactly count/4 invocations in workgroups of spec 0; spec 1 = TEXELS.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool TEXELS = false;

layout(binding = 0) readonly buffer X { vec4 x[]; };
layout(binding = 1) writeonly buffer Y { vec4 y[]; };
layout(binding = 2, rgba32f) uniform readonly imageBuffer xTexels;  // x again, read under TEXELS

void main() {
    const uint i = gl_GlobalInvocationID.x;
    y[i] = TEXELS ? imageLoad(xTexels, int(i)) : x[i];
}
