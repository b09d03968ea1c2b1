#version 450
// Softmax cross-entropy over a batch of logits (N x K, dense) with integer labels:
//   loss_n  = logsumexp(logits_n) - logits_n[label_n]       (max subtracted: stable for large logits)
//   dlogits = gradScale * (softmax(logits_n) - onehot(label_n))   (gradScale = 1/N for the mean loss)
//   metrics[0] (+)= sum_n loss_n,  metrics[1] (+)= count of n whose first largest logit is label_n
// ACCUMULATE adds to metrics (sums over an evaluation), else overwrites them. A label of K or
// more marks a padding sample (a last, partial batch): it adds nothing and gets zero gradients.
// Dispatch: one workgroup (size from spec 0, a power of two); invocations stride over samples and
// their sums meet in a fixed-order tree (deterministic).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool ACCUMULATE = false;

layout(binding = 0) readonly buffer Logits { float logits[]; };
layout(binding = 1) readonly buffer Labels { uint labels[]; };
layout(binding = 2) writeonly buffer DLogits { float dlogits[]; };
layout(binding = 3) buffer Metrics { float metrics[]; };

layout(push_constant) uniform Push {
    uint N, K, logitsOffset, labelsOffset, dOffset, metricsOffset;
    float gradScale;
} p;

// (loss, correct). A fixed size, not gl_WorkGroupSize.x: shared arrays sized by specialization
// constants are miscompiled by older MoltenVK/SPIRV-Cross. The host's workgroup is at most 64.
shared vec2 partial[64];

void main() {
    const uint t = gl_LocalInvocationID.x;
    vec2 s = vec2(0.0);
    for (uint n = t; n < p.N; n += gl_WorkGroupSize.x) {
        const uint row = p.logitsOffset + n * p.K, label = labels[p.labelsOffset + n];
        if (label >= p.K) {
            for (uint k = 0; k < p.K; ++k) dlogits[p.dOffset + n * p.K + k] = 0.0;
            continue;
        }
        float top = logits[row];
        uint best = 0;
        for (uint k = 1; k < p.K; ++k)
            if (logits[row + k] > top) top = logits[row + k], best = k;
        float sum = 0.0;
        for (uint k = 0; k < p.K; ++k) sum += exp(logits[row + k] - top);
        // Everything relative to the top logit: differences of nearby floats are exact, where
        // logsumexp itself would round at the logits' magnitude.
        for (uint k = 0; k < p.K; ++k)
            dlogits[p.dOffset + n * p.K + k] = p.gradScale * (exp(logits[row + k] - top) / sum - (k == label ? 1.0 : 0.0));
        s += vec2((top - logits[row + label]) + log(sum), best == label ? 1.0 : 0.0);
    }
    partial[t] = s;
    for (uint half_ = gl_WorkGroupSize.x / 2; half_ > 0; half_ /= 2) {
        barrier();
        if (t < half_) partial[t] += partial[t + half_];
    }
    if (t != 0) return;
    const uint m = p.metricsOffset;
    metrics[m] = ACCUMULATE ? metrics[m] + partial[0].x : partial[0].x;
    metrics[m + 1] = ACCUMULATE ? metrics[m + 1] + partial[0].y : partial[0].y;
}
