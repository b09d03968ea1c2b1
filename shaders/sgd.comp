#version 450
// One SGD step with momentum and weight decay on a parameter tensor (as PyTorch's SGD):
//   g' = g + weightDecay * w;  v = momentum * v + g';  w -= lr * (NESTEROV ? g' + momentum * v : v)
// The learning rate is read from hyper[lrIndex], a buffer the host rewrites between steps, so a
// schedule changes it without recording the step again. Dense views of equal length.
// Dispatch: one invocation per item, 1-D; an item is a vec4 when VEC4 (count and offsets
// multiples of 4), else a float. Specialization: 0 = workgroup size, 1 = NESTEROV, 2 = VEC4.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool NESTEROV = false;
layout(constant_id = 2) const bool VEC4 = false;

layout(binding = 0) buffer W { float w[]; };
layout(binding = 0) buffer W4 { vec4 w4[]; };
layout(binding = 1) readonly buffer G { float g[]; };
layout(binding = 1) readonly buffer G4 { vec4 g4[]; };
layout(binding = 2) buffer V { float v[]; };
layout(binding = 2) buffer V4 { vec4 v4[]; };
layout(binding = 3) readonly buffer Hyper { float hyper[]; };

layout(push_constant) uniform Push {
    uint count, wOffset, gOffset, vOffset, lrIndex;
    float momentum, weightDecay;
} p;

void main() {
    const uint e = gl_GlobalInvocationID.x, d = VEC4 ? 4 : 1;
    if (e >= p.count / d) return;
    const float lr = hyper[p.lrIndex];
    if (VEC4) {
        const uint wi = p.wOffset / 4 + e, vi = p.vOffset / 4 + e;
        const vec4 weight = w4[wi], grad = g4[p.gOffset / 4 + e] + p.weightDecay * weight;
        const vec4 velocity = p.momentum * v4[vi] + grad;
        v4[vi] = velocity;
        w4[wi] = weight - lr * (NESTEROV ? grad + p.momentum * velocity : velocity);
    } else {
        const float weight = w[p.wOffset + e], grad = g[p.gOffset + e] + p.weightDecay * weight;
        const float velocity = p.momentum * v[p.vOffset + e] + grad;
        v[p.vOffset + e] = velocity;
        w[p.wOffset + e] = weight - lr * (NESTEROV ? grad + p.momentum * velocity : velocity);
    }
}
