// The workgroup-wide total of one vec2 per invocation, summed in a fixed tree order
// (deterministic), returned to every invocation. The workgroup size must be a power of two and
// every invocation must call it (it has barriers), and it must be at most MAX_WORKGROUP (the host
// keeps reductions within it). The array has a fixed size: shared arrays sized by specialization
// constants are miscompiled by older MoltenVK/SPIRV-Cross.
const uint MAX_WORKGROUP = 256;
shared vec2 workgroupPartial[MAX_WORKGROUP];

vec2 workgroupSum(vec2 value) {
    const uint t = gl_LocalInvocationID.x;
    workgroupPartial[t] = value;
    for (uint half_ = gl_WorkGroupSize.x / 2; half_ > 0; half_ /= 2) {
        barrier();
        if (t < half_) workgroupPartial[t] += workgroupPartial[t + half_];
    }
    barrier();
    const vec2 total = workgroupPartial[0];
    barrier();
    return total;
}
