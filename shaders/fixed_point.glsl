// Fixed-point couplings (docs/NUMERICS.md). With FIXED_BITS = f > 0 a coupling's term is rounded
// to a multiple of 2^-f; float32 holds every such multiple below 2^(24-f) exactly, so sums and
// differences of them below that bound are exact too, and y1 - q(F(x2)) gives back x1 bit for
// bit. A value at or past the bound (or not finite) is reported: the writer sets overflow[at] = 1.
// Specialization: 13 = FIXED_BITS (0: plain float arithmetic).
layout(constant_id = 13) const int FIXED_BITS = 0;

// v rounded to the grid (ties to even: the same on every device). Scaling by a constant power of
// two is exact, as ldexp is, and one multiply where a driver lowers ldexp to integer operations.
float quantized(float v) {
    const float scale = float(1u << FIXED_BITS);
    return roundEven(v * scale) * (1.0 / scale);
}
// Whether v lies below the bound of exact arithmetic on the grid.
bool exactOnGrid(float v) { return abs(v) < float(1u << (24 - FIXED_BITS)); }
