#version 450
// The input pipeline on the device: a batch of uint8 images in, float32 NCHW out,
//   out[n][c][y][x] = (raw[n][c][y + dy_n - pad][xs] / 255 - mean[c]) / std[c]
// where raw is 0 outside the image (zero padding before the crop), xs = x + dx_n - pad, or its
// mirror W-1-x + dx_n - pad when sample n is flipped. (dy_n, dx_n) in [0, 2*pad] and the flip come
// from Philox4x32-10 with key = seed and counter = (step, first + n, 0, 0), step read from
// steps[stepIndex] (rewritten by the host every batch, so one recording serves every step).
// Images are C x H x W bytes each, packed little-endian four to a uint, image n at byte
// imageBytes + n*C*H*W. normalization = [mean[C], std[C]].
// Dispatch: channels.glsl's grid, an item being one image row. Each invocation draws once and
// writes its row.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "channels.glsl"
#include "philox.glsl"

layout(binding = 0) readonly buffer Images { uint images[]; };
layout(binding = 1) readonly buffer Normalization { float normalization[]; };
layout(binding = 2) readonly buffer Steps { uint steps[]; };
layout(binding = 3) writeonly buffer Out { float outp[]; };

layout(push_constant) uniform Push {
    uvec2 seed;
    uint N, C, H, W;
    uint imageBytes, normalizationOffset, stepIndex, outOffset;
    uint first, pad, flip;
} p;

#define DRAW(n, c)                                                                                \
    const uvec4 r = philox(uvec4(steps[p.stepIndex], p.first + n, 0u, 0u), p.seed);               \
    const int dy = int(r.x % (2 * p.pad + 1)) - int(p.pad), dx = int(r.y % (2 * p.pad + 1)) - int(p.pad); \
    const bool mirror = p.flip != 0u && (r.z & 1u) != 0u;                                         \
    const float mean = normalization[p.normalizationOffset + c];                                  \
    const float invStd = 1.0 / normalization[p.normalizationOffset + p.C + c];
#define WRITE_ROW(n, c, yOut)                                                                     \
    {                                                                                             \
        const uint plane = p.H * p.W, row = n * p.C + c;                                          \
        const int y = int(yOut) + dy;                                                             \
        for (uint xOut = 0; xOut < p.W; ++xOut) {                                                 \
            const int x = int(mirror ? p.W - 1u - xOut : xOut) + dx;                              \
            float raw = 0.0;                                                                      \
            if (x >= 0 && y >= 0 && x < int(p.W) && y < int(p.H)) {                               \
                const uint byteIndex = p.imageBytes + row * plane + uint(y) * p.W + uint(x);      \
                raw = float((images[byteIndex / 4] >> (8u * (byteIndex % 4))) & 0xFFu);           \
            }                                                                                     \
            outp[p.outOffset + row * plane + yOut * p.W + xOut] = (raw / 255.0 - mean) * invStd;  \
        }                                                                                         \
    }

void main() { FOR_OWN_ROW_ITEM(p.N, p.C, p.H, DRAW, WRITE_ROW) }
