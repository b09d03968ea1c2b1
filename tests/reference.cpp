#include "tests/reference.hpp"

#include <algorithm>
#include <cmath>

namespace revnet::ref {

Values widen(std::span<const float> values) { return Values(values.begin(), values.end()); }

Shape ConvGeometry::output() const {
    return {input.n, outChannels, (input.h + 2 * pad - kernelH) / stride + 1, (input.w + 2 * pad - kernelW) / stride + 1};
}

namespace {
// Calls f(n, k, oy, ox, c, r, s, input index, output index, weight index) for every term of the
// convolution sum whose input position lies inside the image.
template <typename F>
void forEachTerm(const ConvGeometry& g, F f) {
    const Shape o = g.output();
    const Shape& i = g.input;
    for (uint32_t n = 0; n < o.n; ++n)
        for (uint32_t k = 0; k < o.c; ++k)
            for (uint32_t oy = 0; oy < o.h; ++oy)
                for (uint32_t ox = 0; ox < o.w; ++ox)
                    for (uint32_t c = 0; c < i.c; ++c)
                        for (uint32_t r = 0; r < g.kernelH; ++r)
                            for (uint32_t s = 0; s < g.kernelW; ++s) {
                                const int iy = int(oy * g.stride + r) - int(g.pad), ix = int(ox * g.stride + s) - int(g.pad);
                                if (iy < 0 || ix < 0 || iy >= int(i.h) || ix >= int(i.w)) continue;
                                f(((std::size_t(n) * i.c + c) * i.h + iy) * i.w + ix,
                                  ((std::size_t(n) * o.c + k) * o.h + oy) * o.w + ox,
                                  ((std::size_t(k) * i.c + c) * g.kernelH + r) * g.kernelW + s);
                            }
}
}  // namespace

Values convForward(const ConvGeometry& g, const Values& x, const Values& w) {
    Values y(g.output().elements(), 0.0);
    forEachTerm(g, [&](std::size_t xi, std::size_t yi, std::size_t wi) { y[yi] += x[xi] * w[wi]; });
    return y;
}

Values convGradInput(const ConvGeometry& g, const Values& dy, const Values& w) {
    Values dx(g.input.elements(), 0.0);
    forEachTerm(g, [&](std::size_t xi, std::size_t yi, std::size_t wi) { dx[xi] += dy[yi] * w[wi]; });
    return dx;
}

Values convGradWeight(const ConvGeometry& g, const Values& x, const Values& dy) {
    Values dw(std::size_t(g.outChannels) * g.input.c * g.kernelH * g.kernelW, 0.0);
    forEachTerm(g, [&](std::size_t xi, std::size_t yi, std::size_t wi) { dw[wi] += dy[yi] * x[xi]; });
    return dw;
}

double centralDifference(const std::function<double(const Values&)>& f, Values values, std::size_t i, double step) {
    const double at = values[i];
    values[i] = at + step;
    const double up = f(values);
    values[i] = at - step;
    const double down = f(values);
    return (up - down) / (2 * step);
}

double dot(const Values& a, const Values& b) {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
    return sum;
}

Error compare(std::span<const float> actual, const Values& expected) {
    Error e;
    double diff2 = 0, ref2 = 0, maxRef = 0, maxDiff = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (!std::isfinite(actual[i])) {
            e.finite = false;
            e.worst = i;
            return e;
        }
        const double d = std::fabs(actual[i] - expected[i]);
        diff2 += d * d;
        ref2 += expected[i] * expected[i];
        maxRef = std::max(maxRef, std::fabs(expected[i]));
        if (d > maxDiff) maxDiff = d, e.worst = i;
    }
    e.relativeL2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
    e.relativeMax = maxRef > 0 ? maxDiff / maxRef : maxDiff;
    return e;
}

}  // namespace revnet::ref
