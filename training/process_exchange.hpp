// What the processes of a data-parallel run exchange in the middle of a recorded step: gradients
// averaged before the update, and a synchronized batch norm's statistics gathered and its
// parameter-gradient sums averaged. Each exchange is recorded as copies out to host memory, a host
// step that calls the Communicator, and copies back (engine/host_exchange.hpp).
#pragma once

#include "engine/host_exchange.hpp"
#include "kernels/batch_norm.hpp"
#include "training/communicator.hpp"

#include <span>

namespace revnet::training {

class ProcessExchange {
public:
    // Room for `floats` at a time (floatsFor).
    ProcessExchange(Engine& engine, Communicator& processes, uint64_t floats);

    // Records: each of `values` (dense views) replaced by its mean over the processes.
    void recordAverage(Recorder& recorder, std::span<const TensorView> values) const;
    // Records: every process's `values` concatenated in rank order into `gathered`.
    void recordGather(Recorder& recorder, const TensorView& values, const TensorView& gathered) const;
    // A synchronized batch norm over these processes, exchanging through this.
    kernels::BatchNormShares batchNormShares() const;

    // The floats an exchange of `gradients` floats, with (syncBatchNorm) the statistics of up to
    // `channels` channels gathered from `processes`, needs at once.
    static uint64_t floatsFor(uint64_t gradients, uint32_t channels, uint32_t processes, bool syncBatchNorm);

    // Seconds the host steps of every replay so far took (the device idles through them).
    double seconds() const { return seconds_; }

private:
    template <typename Step>
    void timed(Step step) const;

    Communicator& processes_;
    HostExchange exchange_;
    mutable double seconds_ = 0;
};

}  // namespace revnet::training
