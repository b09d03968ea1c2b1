// The tables of `revnet bench kernels`: every kernel at the shapes of RevNet layers at batch 128
// on 32x32 inputs, timed as the median of replays after warm-up.
#pragma once

#include "revnet/engine/engine.hpp"

#include <string>
#include <vector>

namespace revnet::cli {

// The middle value (the upper of the two middle ones for an even count).
double median(std::vector<double> values);
// Wall time of one replay of `recorder`.
double secondsOf(Recorder& recorder);
// Median wall time of `runs` replays of `recorder`, after two warm-up runs.
double medianSeconds(Recorder& recorder, int runs);

// The fp32 FMA throughput probe (shaders/peak_fma.comp), recorded once to be replayed: next to
// each timed run of something else, so that both see the shared machine in the same state.
class FmaProbe {
public:
    explicit FmaProbe(Engine& engine);
    double gflops();  // one replay, timed
    Recorder& recorder() { return recorder_; }
    double flops() const { return flops_; }

private:
    Tensor out_;
    Recorder recorder_;
    double flops_ = 0;
};

// The device's peaks, measured: fp32 FMA throughput (shaders/peak_fma.comp) in GFLOP/s and
// shader copy bandwidth (read + write, shaders/peak_copy.comp) in GB/s; medians of `runs`.
double peakGflops(Engine& engine, int runs);
double copyGBs(Engine& engine, int runs);

// Memory-bound kernels in GB/s next to the measured copy bandwidth; rows whose names do not
// contain `only` are skipped.
void benchMemoryBound(Engine& engine, int runs, double copyGBs, const std::string& only);
// Convolutions in GFLOP/s next to the measured FMA peak, with the geometric means the
// RevNet-110 bar is set on.
void benchConvolutions(Engine& engine, int runs, double peakGflops, const std::string& only);

}  // namespace revnet::cli
