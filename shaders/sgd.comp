#version 450
// One SGD step with momentum and weight decay on a parameter tensor (as PyTorch's SGD):
//   g' = g + weightDecay * w;  v = momentum * v + g';  w -= lr * (NESTEROV ? g' + momentum * v : v)
// The learning rate is read from hyper[lrIndex], a buffer the host rewrites between steps, so a
// schedule changes it without recording the step again. Dense views of equal length.
// Dispatch: one invocation per element (grid-stride), 1-D.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool NESTEROV = false;

layout(binding = 0) buffer W { float w[]; };
layout(binding = 1) readonly buffer G { float g[]; };
layout(binding = 2) buffer V { float v[]; };
layout(binding = 3) readonly buffer Hyper { float hyper[]; };

layout(push_constant) uniform Push {
    uint count, wOffset, gOffset, vOffset, lrIndex;
    float momentum, weightDecay;
} p;

void main() {
    const float lr = hyper[p.lrIndex];
    for (uint e = gl_GlobalInvocationID.x; e < p.count; e += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
        const float weight = w[p.wOffset + e];
        const float grad = g[p.gOffset + e] + p.weightDecay * weight;
        const float velocity = p.momentum * v[p.vOffset + e] + grad;
        v[p.vOffset + e] = velocity;
        w[p.wOffset + e] = weight - lr * (NESTEROV ? grad + p.momentum * velocity : velocity);
    }
}
