// IEEE binary16 from and to float32 by bit manipulation, so that the rounding is the same on
// every device (GLSL leaves packHalf2x16's rounding to the implementation): round to nearest,
// ties to even; past the largest half (65504, from 65520 up) infinity; NaN stays NaN.

uint halfBits(float v) {
    const uint bits = floatBitsToUint(v);
    const uint sign = (bits >> 16) & 0x8000u, magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return sign | 0x7e00u;     // NaN
    if (magnitude >= 0x477ff000u) return sign | 0x7c00u;    // rounds to 65536 or more: infinity
    if (magnitude < 0x38800000u)                             // below 2^-14: a subnormal half (or 0)
        return sign | uint(roundEven(uintBitsToFloat(magnitude) * 16777216.0));  // units of 2^-24
    const uint rebiased = magnitude - 0x38000000u;         // exponent bias 127 -> 15
    return sign | ((rebiased + 0x0fffu + ((rebiased >> 13) & 1u)) >> 13);
}

float halfValue(uint h) {
    const uint sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 31u, mantissa = h & 1023u;
    if (exponent == 0u) return uintBitsToFloat(sign | floatBitsToUint(float(mantissa) * (1.0 / 16777216.0)));
    if (exponent == 31u) return uintBitsToFloat(sign | 0x7f800000u | (mantissa << 13));
    return uintBitsToFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}
