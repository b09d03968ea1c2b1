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
    // `iterations` (a multiple of 4) sets its length: 4096 is about 17 GFLOP.
    explicit FmaProbe(Engine& engine, uint32_t iterations = 4096);
    double gflops();  // one replay, timed
    Recorder& recorder() { return recorder_; }
    double flops() const { return flops_; }

private:
    Tensor out_;
    Recorder recorder_;
    double flops_ = 0;
};

// `runs` replays of `work` (after two warm-ups), each just after a replay of `probe`: its median
// time and, over the pairs, the medians of the probe's GFLOP/s and of the work's share of it
// (`flops` a replay). Without a probe (no room for its buffer) only the time is measured.
struct PairedTiming {
    double seconds = 0;
    double peakGflops = 0;  // 0 without a probe
    double peakShare = 0;
};
PairedTiming timeAgainstProbe(FmaProbe* probe, Recorder& work, double flops, int runs);

// The device's peaks, measured: fp32 FMA throughput (shaders/peak_fma.comp) in GFLOP/s and
// shader copy bandwidth (read + write, shaders/peak_copy.comp) in GB/s; medians of `runs`.
double peakGflops(Engine& engine, int runs);
double copyGBs(Engine& engine, int runs);

// Whether any row of the two tables below has a name containing `only`.
bool benchRowsMatch(const std::string& only);
// Memory-bound kernels in GB/s next to the measured copy bandwidth; rows whose names do not
// contain `only` are skipped.
void benchMemoryBound(Engine& engine, int runs, double copyGBs, const std::string& only);
// Convolutions in GFLOP/s, each run paired with a short FMA probe for its share of the peak,
// with the geometric means the RevNet-110 bars are set on.
void benchConvolutions(Engine& engine, int runs, const std::string& only);

}  // namespace revnet::cli
