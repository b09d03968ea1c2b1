#version 450
// Not part of the product: a shader with a shared array sized by a specialization constant, the
// pattern older MoltenVK/SPIRV-Cross miscompile, so that the reflection test can show it is caught.
layout(local_size_x_id = 0) in;
layout(binding = 0) buffer Out { float outp[]; };
shared float partial[gl_WorkGroupSize.x];
void main() {
    partial[gl_LocalInvocationID.x] = 1.0;
    barrier();
    outp[gl_GlobalInvocationID.x] = partial[0];
}
