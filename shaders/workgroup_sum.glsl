// The workgroup-wide total of one vec2 per invocation, summed in a fixed tree order
// (deterministic), returned to every invocation. The workgroup size must be a power of two and
// every invocation must call it (it has barriers).
shared vec2 workgroupPartial[gl_WorkGroupSize.x];

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
