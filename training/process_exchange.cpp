#include "training/process_exchange.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

namespace revnet::training {

ProcessExchange::ProcessExchange(Engine& engine, Communicator& processes, uint64_t floats)
    : processes_(processes), exchange_(engine, floats, "process exchange") {}

template <typename Step>
void ProcessExchange::timed(Step step) const {
    const auto start = std::chrono::steady_clock::now();
    exchange_.beginHostAccess();
    step();
    exchange_.endHostAccess();
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

uint64_t ProcessExchange::floatsFor(uint64_t gradients, uint32_t channels, uint32_t processes, bool syncBatchNorm) {
    // A gather holds this process's figures and everyone's side by side.
    const uint64_t gather = syncBatchNorm ? 2 * uint64_t{channels} * (processes + 1) : 0;
    return std::max(gradients, gather);
}

void ProcessExchange::recordAverage(Recorder& recorder, std::span<const TensorView> values) const {
    uint64_t total = 0;
    for (const TensorView& v : values) {
        exchange_.recordOut(recorder, v, total);
        total += v.shape().elements();
    }
    recorder.hostStep([this, total] {
        timed([&] {
            const auto all = exchange_.floats(0, total);
            processes_.sum(all);
            const float share = 1.0f / float(processes_.size());
            for (float& v : all) v *= share;
        });
    });
    total = 0;
    for (const TensorView& v : values) {
        exchange_.recordIn(recorder, total, v);
        total += v.shape().elements();
    }
}

void ProcessExchange::recordGather(Recorder& recorder, const TensorView& values, const TensorView& gathered) const {
    const uint64_t n = values.shape().elements(), all = n * processes_.size();
    exchange_.recordOut(recorder, values, 0);
    recorder.hostStep([this, n, all] {
        timed([&] { processes_.gather(exchange_.floats(0, n), exchange_.floats(n, all)); });
    });
    exchange_.recordIn(recorder, n, gathered.prefix(all));
}

kernels::BatchNormShares ProcessExchange::batchNormShares() const {
    kernels::BatchNormShares shares;
    shares.count = processes_.size();
    shares.gather = [this](Recorder& r, const TensorView& values, const TensorView& gathered) {
        recordGather(r, values, gathered);
    };
    shares.average = [this](Recorder& r, std::span<const TensorView> values) { recordAverage(r, values); };
    return shares;
}

}  // namespace revnet::training
