#version 450
// Copy-bandwidth probe for `revnet bench`: y = x, one vec4 per invocation and nothing else, the
// fastest plain storage-buffer copy a shader does; memory-bound kernels are measured against it.
// Dispatch: 1-D, exactly count/4 invocations in workgroups of spec 0.
layout(local_size_x_id = 0) in;

layout(binding = 0) readonly buffer X { vec4 x[]; };
layout(binding = 1) writeonly buffer Y { vec4 y[]; };

void main() { y[gl_GlobalInvocationID.x] = x[gl_GlobalInvocationID.x]; }
