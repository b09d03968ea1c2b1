// One real training step (forward, loss, backward, SGD) of a model on random data, with the
// device memory the engine measured during it and the plan made before allocating.
#pragma once

#include "revnet/engine/engine.hpp"
#include "revnet/models/network.hpp"

namespace revnet::cli {

// A network on random data with its training step recorded (with momentum SGD), ready to replay.
class StepRecording {
public:
    StepRecording(Engine& engine, const models::Architecture& arch, models::NetworkOptions options, bool profile = false);
    Recorder& recorder() { return recorder_; }
    uint64_t plannedBytes() const { return planned_; }

private:
    uint64_t planned_ = 0;
    models::Network net_;
    Tensor momentum_, hyper_;
    Recorder recorder_;
};

struct StepMeasurement {
    double seconds = 0;  // median of `runs` replays; 0 when runs is 0 (one step only)
    uint64_t savedActivations = 0, workspace = 0, peak = 0, planned = 0;  // bytes
    double flops = 0;  // the step's arithmetic the kernels are credited with (Recorder::countFlops)
    // Each timed step follows a run of the FMA probe: the medians over those pairs of the probe's
    // GFLOP/s and of the step's share of it. 0 without timed runs, or where the probe's buffer
    // did not fit the budget.
    double pairedPeakGflops = 0, peakShare = 0;
    std::vector<KernelTiming> kernels;  // with profiling: per kernel name, per step
};

StepMeasurement measureStep(Engine& engine, const models::Architecture& arch, models::NetworkOptions options, int runs,
                            bool profile = false);

}  // namespace revnet::cli
