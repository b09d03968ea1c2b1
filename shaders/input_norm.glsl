// A batch norm + ReLU applied to a convolution's input as it is loaded (conv2d_tile.glsl's
// forward, conv2d_grad_weight.glsl): the pass reads relu(gamma * (x - mean) / sqrt(var + eps) + beta)
// without that tensor ever being written. Computed as batch_norm_forward.comp does, (x - mean)
// first. Callers mask padding after normalizing it, so that padding stays zero. Spec 19 =
// INPUT_NORM; bindings 5-7 = [mean[C], var[C]], gamma, beta (bound to something without it), as
// R32F texel buffers (channel_figures.glsl) in every twin, the storage ones too. The input
// gradient declares them without applying them (conv2d_tile.glsl's NORM_SUMS reads them).
layout(constant_id = 19) const bool INPUT_NORM = false;
layout(binding = 5) uniform samplerBuffer normStats;
layout(binding = 6) uniform samplerBuffer normGamma;
layout(binding = 7) uniform samplerBuffer normBeta;
#include "channel_figures.glsl"

// Channel c of C as (mean, scale, shift); `at` = where the statistics, gamma and beta start. The
// identity without INPUT_NORM.
vec3 channelNorm(uint c, uint C, uvec3 at, float eps) {
    if (INPUT_NORM)
        return vec3(figure(normStats, at.x + c), figure(normGamma, at.y + c) * inversesqrt(figure(normStats, at.x + C + c) + eps),
                    figure(normBeta, at.z + c));
    return vec3(0.0, 1.0, 0.0);
}
float normalized(float v, vec3 norm) { return INPUT_NORM ? max((v - norm.x) * norm.y + norm.z, 0.0) : v; }
vec4 normalized(vec4 v, vec3 norm) { return INPUT_NORM ? max((v - norm.x) * norm.y + norm.z, vec4(0.0)) : v; }
