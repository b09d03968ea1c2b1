// Independent host references in double precision for the kernels: the plain loops of each
// layer's definition, nothing shared with the shaders. The tests and `revnet selftest` compare
// against them. Tensors are dense NCHW vectors.
#pragma once

#include "revnet/engine/tensor.hpp"

#include <functional>
#include <span>
#include <vector>

namespace revnet::ref {

using Values = std::vector<double>;

Values widen(std::span<const float> values);

struct ConvGeometry {
    Shape input;
    uint32_t outChannels, kernelH, kernelW, stride, pad;
    Shape output() const;
};
Values convForward(const ConvGeometry& g, const Values& x, const Values& w);
Values convGradInput(const ConvGeometry& g, const Values& dy, const Values& w);
Values convGradWeight(const ConvGeometry& g, const Values& x, const Values& dy);

// Batch norm in training mode over a dense NCHW tensor, with its batch statistics.
struct BatchNorm {
    Values mean, var, y;  // var biased
};
BatchNorm batchNormForward(const Shape& s, const Values& x, const Values& gamma, const Values& beta, double eps,
                           bool relu);
struct BatchNormGrads {
    Values dx, dgamma, dbeta;
};
BatchNormGrads batchNormBackward(const Shape& s, const Values& x, const Values& dy, const Values& gamma,
                                 const Values& beta, double eps, bool relu);

Values avgPool2x2(const Shape& in, const Values& x, uint32_t outChannels, uint32_t padBefore);
Values avgPool2x2Backward(const Shape& in, const Values& dy, uint32_t outChannels, uint32_t padBefore);
// 3x3 windows, stride 2, padding 1; the backward sends each window's gradient to its first maximum.
Values maxPool3x3(const Shape& in, const Values& x);
Values maxPool3x3Backward(const Shape& in, const Values& x, const Values& dy);
Values globalAvgPool(const Shape& in, const Values& x);

Values linear(uint32_t n, uint32_t in, uint32_t out, const Values& x, const Values& w, const Values& b);

struct CrossEntropy {
    double lossSum = 0;
    int correct = 0;
    Values dlogits;  // of the mean loss
};
CrossEntropy softmaxCrossEntropy(uint32_t n, uint32_t k, const Values& logits, const std::vector<uint32_t>& labels);

// The IEEE binary16 value nearest v (ties to even; infinity from 65520 up; NaN stays NaN), as a
// double: what half storage keeps.
double nearestHalf(float v);
// Whether a stored half equals the reference: same value and sign, or both NaN.
bool sameHalf(float actual, double expected);

// d/d(values[i]) of f by central differences, for checking the references themselves.
double centralDifference(const std::function<double(const Values&)>& f, Values values, std::size_t i,
                         double step = 1e-5);
double dot(const Values& a, const Values& b);

// How far `actual` is from `expected`: relative L2 error and the largest absolute error
// relative to the largest |expected|.
struct Error {
    double relativeL2 = 0, relativeMax = 0;
    std::size_t worst = 0;
    bool finite = true;
};
Error compare(std::span<const float> actual, const Values& expected);

}  // namespace revnet::ref
