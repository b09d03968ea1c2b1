// What the processes of a data-parallel run exchange in the middle of a recorded step: gradients
// averaged in buckets started as the backward pass finishes them (so that the exchange overlaps
// the rest of the pass), and a synchronized batch norm's statistics gathered and its
// parameter-gradient sums averaged. Each exchange is recorded as copies out to host memory, a
// host step that calls the Communicator, and copies back (engine/host_exchange.hpp); sums in
// flight move on while the recording waits for the device (Recorder::whileWaiting).
#pragma once

#include "engine/host_exchange.hpp"
#include "revnet/kernels/batch_norm.hpp"
#include "revnet/training/communicator.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace revnet::training {

// Elements [first, first + count) of a flat tensor.
struct ElementRange {
    uint64_t first = 0, count = 0;
};

class ProcessExchange {
public:
    // Room for a mirror of `gradients` floats and `scratch` more (scratchFloats).
    ProcessExchange(Engine& engine, Communicator& processes, uint64_t gradients, uint64_t scratch);

    // Records: copies of these ranges of `gradients` out, and a host step starting their sums.
    void recordStartSums(Recorder& recorder, const Tensor& gradients, std::span<const ElementRange> ranges) const;
    // Records: a host step finishing every sum started and dividing by the number of processes,
    // and the copy of the averages back into `gradients`.
    void recordFinishSums(Recorder& recorder, const Tensor& gradients) const;
    // Records: each of `values` (dense views) replaced by its mean over the processes.
    void recordAverage(Recorder& recorder, std::span<const TensorView> values) const;
    // Records: every process's `values` concatenated in rank order into `gathered`.
    void recordGather(Recorder& recorder, const TensorView& values, const TensorView& gathered) const;
    // A synchronized batch norm over these processes, exchanging through this.
    kernels::BatchNormShares batchNormShares() const;
    // Moves sums in flight on (for Recorder::whileWaiting).
    void progress() const { processes_.progress(); }

    // The scratch a synchronized batch norm of up to `channels` channels over `processes` needs.
    static uint64_t scratchFloats(uint32_t channels, uint32_t processes, bool syncBatchNorm);

    // Seconds the host steps of every replay so far took (the device idles through them), and
    // of those the ones spent finishing gradient sums (what the backward pass did not hide).
    double seconds() const { return seconds_; }
    double finishSeconds() const { return finishSeconds_; }

private:
    // Runs a host step's work with the exchange memory made visible both ways, adding its time to
    // seconds_ (and to *also, if given).
    template <typename Step>
    void timed(double* also, Step step) const;

    Communicator& processes_;
    uint64_t gradients_;  // scratch starts here
    HostExchange exchange_;
    mutable double seconds_ = 0, finishSeconds_ = 0;
};

// While a training step is recorded: the parameters whose gradients are not yet exchanged, started
// in buckets of at least `bucketFloats` as the backward pass finishes them (Network::GradientsReady).
class GradientBuckets {
public:
    struct Parameter {
        std::string name;
        ElementRange range;  // in the gradient tensor
    };
    GradientBuckets(const ProcessExchange& exchange, const Tensor& gradients, std::vector<Parameter> parameters,
                    uint64_t bucketFloats);
    // The gradients of the parameters named prefix... are final.
    void ready(Recorder& recorder, std::string_view prefix);
    // Starts what is left (every element of the gradient tensor is exchanged once), then records
    // the finish: before anything reads the gradients.
    void finish(Recorder& recorder);
    uint32_t bucketsStarted() const { return buckets_; }

private:
    void start(Recorder& recorder);

    const ProcessExchange& exchange_;
    const Tensor& gradients_;
    std::vector<Parameter> waiting_;      // not yet final
    std::vector<ElementRange> pending_;   // final, not yet started
    std::vector<ElementRange> started_;
    uint64_t bucketFloats_, pendingFloats_ = 0;
    uint32_t buckets_ = 0;
};

}  // namespace revnet::training
