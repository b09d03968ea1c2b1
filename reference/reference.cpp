#include "reference/reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

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

BatchNorm batchNormForward(const Shape& s, const Values& x, const Values& gamma, const Values& beta, double eps,
                           bool relu) {
    const std::size_t plane = std::size_t(s.h) * s.w, count = plane * s.n;
    BatchNorm out{Values(s.c, 0.0), Values(s.c, 0.0), Values(x.size())};
    auto index = [&](uint32_t n, uint32_t c, std::size_t i) { return (std::size_t(n) * s.c + c) * plane + i; };
    for (uint32_t c = 0; c < s.c; ++c) {
        for (uint32_t n = 0; n < s.n; ++n)
            for (std::size_t i = 0; i < plane; ++i) out.mean[c] += x[index(n, c, i)] / count;
        for (uint32_t n = 0; n < s.n; ++n)
            for (std::size_t i = 0; i < plane; ++i) out.var[c] += std::pow(x[index(n, c, i)] - out.mean[c], 2) / count;
        for (uint32_t n = 0; n < s.n; ++n)
            for (std::size_t i = 0; i < plane; ++i) {
                const double y = gamma[c] * (x[index(n, c, i)] - out.mean[c]) / std::sqrt(out.var[c] + eps) + beta[c];
                out.y[index(n, c, i)] = relu ? std::max(y, 0.0) : y;
            }
    }
    return out;
}

BatchNormGrads batchNormBackward(const Shape& s, const Values& x, const Values& dy, const Values& gamma,
                                 const Values& beta, double eps, bool relu) {
    const BatchNorm f = batchNormForward(s, x, gamma, beta, eps, false);
    const std::size_t plane = std::size_t(s.h) * s.w;
    const double count = double(plane) * s.n;
    BatchNormGrads g{Values(x.size()), Values(s.c, 0.0), Values(s.c, 0.0)};
    auto index = [&](uint32_t n, uint32_t c, std::size_t i) { return (std::size_t(n) * s.c + c) * plane + i; };
    for (uint32_t c = 0; c < s.c; ++c) {
        const double invStd = 1 / std::sqrt(f.var[c] + eps);
        auto dyAt = [&](std::size_t at) { return relu && f.y[at] <= 0 ? 0.0 : dy[at]; };
        for (uint32_t n = 0; n < s.n; ++n)
            for (std::size_t i = 0; i < plane; ++i) {
                const std::size_t at = index(n, c, i);
                g.dbeta[c] += dyAt(at);
                g.dgamma[c] += dyAt(at) * (x[at] - f.mean[c]) * invStd;
            }
        for (uint32_t n = 0; n < s.n; ++n)
            for (std::size_t i = 0; i < plane; ++i) {
                const std::size_t at = index(n, c, i);
                const double xhat = (x[at] - f.mean[c]) * invStd;
                g.dx[at] = gamma[c] * invStd * (dyAt(at) - g.dbeta[c] / count - xhat * g.dgamma[c] / count);
            }
    }
    return g;
}

Values avgPool2x2(const Shape& in, const Values& x, uint32_t outChannels, uint32_t padBefore) {
    const uint32_t oh = in.h / 2, ow = in.w / 2;
    Values y(std::size_t(in.n) * outChannels * oh * ow, 0.0);
    for (uint32_t n = 0; n < in.n; ++n)
        for (uint32_t c = 0; c < in.c; ++c)
            for (uint32_t i = 0; i < oh; ++i)
                for (uint32_t j = 0; j < ow; ++j) {
                    double sum = 0;
                    for (uint32_t a = 0; a < 2; ++a)
                        for (uint32_t b = 0; b < 2; ++b)
                            sum += x[((std::size_t(n) * in.c + c) * in.h + 2 * i + a) * in.w + 2 * j + b];
                    y[((std::size_t(n) * outChannels + c + padBefore) * oh + i) * ow + j] = sum / 4;
                }
    return y;
}

Values avgPool2x2Backward(const Shape& in, const Values& dy, uint32_t outChannels, uint32_t padBefore) {
    const uint32_t oh = in.h / 2, ow = in.w / 2;
    Values dx(in.elements());
    for (uint32_t n = 0; n < in.n; ++n)
        for (uint32_t c = 0; c < in.c; ++c)
            for (uint32_t y = 0; y < in.h; ++y)
                for (uint32_t x = 0; x < in.w; ++x)
                    dx[((std::size_t(n) * in.c + c) * in.h + y) * in.w + x] =
                        dy[((std::size_t(n) * outChannels + c + padBefore) * oh + y / 2) * ow + x / 2] / 4;
    return dx;
}

namespace {

// The flat index in x of window (n, c, i, j)'s first maximum.
std::size_t maxPoolArgmax(const Shape& in, const Values& x, uint32_t n, uint32_t c, uint32_t i, uint32_t j) {
    std::size_t best = 0;
    bool found = false;
    for (int a = -1; a <= 1; ++a)
        for (int b = -1; b <= 1; ++b) {
            const int y = 2 * int(i) + a, xx = 2 * int(j) + b;
            if (y < 0 || y >= int(in.h) || xx < 0 || xx >= int(in.w)) continue;
            const std::size_t at = ((std::size_t(n) * in.c + c) * in.h + y) * in.w + xx;
            if (!found || x[at] > x[best]) best = at;
            found = true;
        }
    return best;
}

}  // namespace

Values maxPool3x3(const Shape& in, const Values& x) {
    const uint32_t oh = (in.h + 1) / 2, ow = (in.w + 1) / 2;
    Values y(std::size_t(in.n) * in.c * oh * ow);
    for (uint32_t n = 0; n < in.n; ++n)
        for (uint32_t c = 0; c < in.c; ++c)
            for (uint32_t i = 0; i < oh; ++i)
                for (uint32_t j = 0; j < ow; ++j)
                    y[((std::size_t(n) * in.c + c) * oh + i) * ow + j] = x[maxPoolArgmax(in, x, n, c, i, j)];
    return y;
}

Values maxPool3x3Backward(const Shape& in, const Values& x, const Values& dy) {
    const uint32_t oh = (in.h + 1) / 2, ow = (in.w + 1) / 2;
    Values dx(in.elements(), 0.0);
    for (uint32_t n = 0; n < in.n; ++n)
        for (uint32_t c = 0; c < in.c; ++c)
            for (uint32_t i = 0; i < oh; ++i)
                for (uint32_t j = 0; j < ow; ++j)
                    dx[maxPoolArgmax(in, x, n, c, i, j)] += dy[((std::size_t(n) * in.c + c) * oh + i) * ow + j];
    return dx;
}

Values globalAvgPool(const Shape& in, const Values& x) {
    const std::size_t plane = std::size_t(in.h) * in.w;
    Values y(std::size_t(in.n) * in.c, 0.0);
    for (std::size_t e = 0; e < y.size(); ++e)
        for (std::size_t i = 0; i < plane; ++i) y[e] += x[e * plane + i] / plane;
    return y;
}

Values linear(uint32_t n, uint32_t in, uint32_t out, const Values& x, const Values& w, const Values& b) {
    Values y(std::size_t(n) * out);
    for (uint32_t s = 0; s < n; ++s)
        for (uint32_t o = 0; o < out; ++o) {
            double sum = b[o];
            for (uint32_t i = 0; i < in; ++i) sum += x[std::size_t(s) * in + i] * w[std::size_t(o) * in + i];
            y[std::size_t(s) * out + o] = sum;
        }
    return y;
}

CrossEntropy softmaxCrossEntropy(uint32_t n, uint32_t k, const Values& logits, const std::vector<uint32_t>& labels) {
    CrossEntropy r;
    r.dlogits.resize(std::size_t(n) * k);
    for (uint32_t s = 0; s < n; ++s) {
        if (labels[s] >= k) continue;  // padding; its gradient stays 0
        const double* row = &logits[std::size_t(s) * k];
        const auto best = std::max_element(row, row + k) - row;
        double sum = 0;
        for (uint32_t j = 0; j < k; ++j) sum += std::exp(row[j] - row[best]);
        const double lse = row[best] + std::log(sum);
        r.lossSum += lse - row[labels[s]];
        r.correct += best == labels[s];
        for (uint32_t j = 0; j < k; ++j)
            r.dlogits[std::size_t(s) * k + j] = (std::exp(row[j] - lse) - (j == labels[s])) / n;
    }
    return r;
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

double nearestHalf(float v) {
    if (std::isnan(v)) return v;
    const double a = std::fabs(double(v));
    double r;
    if (a < 0x1p-14) {
        r = std::nearbyint(a * 0x1p24) * 0x1p-24;  // subnormal halves: multiples of 2^-24
    } else {
        int e = 0;
        std::frexp(a, &e);  // a in [2^(e-1), 2^e): 10 bits below the leading one
        const double ulp = std::ldexp(1.0, e - 11);
        r = std::nearbyint(a / ulp) * ulp;
    }
    if (r > 65504.0) r = std::numeric_limits<double>::infinity();
    return std::copysign(r, double(v));
}

bool sameHalf(float actual, double expected) {
    if (std::isnan(expected)) return std::isnan(actual);
    return double(actual) == expected && std::signbit(actual) == std::signbit(expected);
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
