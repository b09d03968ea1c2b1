#include "training/process_exchange.hpp"

#include <algorithm>
#include <chrono>

namespace revnet::training {

namespace {

// Adjacent ranges joined, in order.
std::vector<ElementRange> coalesced(std::vector<ElementRange> ranges) {
    std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<ElementRange> out;
    for (const ElementRange& r : ranges) {
        if (r.count == 0) continue;
        if (!out.empty() && out.back().first + out.back().count == r.first) out.back().count += r.count;
        else out.push_back(r);
    }
    return out;
}

TensorView flat(const Tensor& t, const ElementRange& r) { return t.view({1, 1, 1, uint32_t(r.count)}, r.first); }

}  // namespace

ProcessExchange::ProcessExchange(Engine& engine, Communicator& processes, uint64_t gradients, uint64_t scratch)
    : processes_(processes), gradients_(gradients), exchange_(engine, gradients + scratch, "process exchange") {}

uint64_t ProcessExchange::scratchFloats(uint32_t channels, uint32_t processes, bool syncBatchNorm) {
    // A gather holds this process's figures and everyone's side by side.
    return syncBatchNorm ? 2 * uint64_t{channels} * (processes + 1) : 0;
}

template <typename Step>
void ProcessExchange::timed(double* also, Step step) const {
    const auto start = std::chrono::steady_clock::now();
    exchange_.beginHostAccess();
    step();
    exchange_.endHostAccess();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    seconds_ += seconds;
    if (also) *also += seconds;
}

void ProcessExchange::recordStartSums(Recorder& recorder, const Tensor& gradients,
                                      std::span<const ElementRange> ranges) const {
    for (const ElementRange& r : ranges) exchange_.recordOut(recorder, flat(gradients, r), r.first);
    recorder.hostStep([this, ranges = std::vector<ElementRange>(ranges.begin(), ranges.end())] {
        timed(nullptr, [&] {
            for (const ElementRange& r : ranges) processes_.startSum(exchange_.floats(r.first, r.count));
        });
    });
}

void ProcessExchange::recordFinishSums(Recorder& recorder, const Tensor& gradients) const {
    const uint64_t count = gradients.shape().elements();
    recorder.hostStep([this, count] {
        timed(&finishSeconds_, [&] {
            processes_.finishSums();
            const float share = 1.0f / float(processes_.size());
            for (float& v : exchange_.floats(0, count)) v *= share;
        });
    });
    exchange_.recordIn(recorder, 0, gradients);
}

void ProcessExchange::recordAverage(Recorder& recorder, std::span<const TensorView> values) const {
    uint64_t total = 0;
    for (const TensorView& v : values) {
        exchange_.recordOut(recorder, v, gradients_ + total);
        total += v.shape().elements();
    }
    recorder.hostStep([this, total] {
        timed(nullptr, [&] {
            const auto all = exchange_.floats(gradients_, total);
            processes_.sum(all);
            const float share = 1.0f / float(processes_.size());
            for (float& v : all) v *= share;
        });
    });
    total = 0;
    for (const TensorView& v : values) {
        exchange_.recordIn(recorder, gradients_ + total, v);
        total += v.shape().elements();
    }
}

void ProcessExchange::recordGather(Recorder& recorder, const TensorView& values, const TensorView& gathered) const {
    const uint64_t n = values.shape().elements(), all = n * processes_.size();
    exchange_.recordOut(recorder, values, gradients_);
    recorder.hostStep([this, n, all] {
        timed(nullptr, [&] { processes_.gather(exchange_.floats(gradients_, n), exchange_.floats(gradients_ + n, all)); });
    });
    exchange_.recordIn(recorder, gradients_ + n, gathered);
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

GradientBuckets::GradientBuckets(const ProcessExchange& exchange, const Tensor& gradients,
                                 std::vector<Parameter> parameters, uint64_t bucketFloats)
    : exchange_(exchange), gradients_(gradients), waiting_(std::move(parameters)), bucketFloats_(bucketFloats) {}

void GradientBuckets::ready(Recorder& recorder, std::string_view prefix) {
    const auto final = std::stable_partition(waiting_.begin(), waiting_.end(),
                                             [&](const Parameter& p) { return !p.name.starts_with(prefix); });
    for (auto it = final; it != waiting_.end(); ++it) pending_.push_back(it->range), pendingFloats_ += it->range.count;
    waiting_.erase(final, waiting_.end());
    if (pendingFloats_ >= bucketFloats_) start(recorder);
}

void GradientBuckets::start(Recorder& recorder) {
    const auto ranges = coalesced(pending_);
    if (!ranges.empty()) {
        exchange_.recordStartSums(recorder, gradients_, ranges);
        ++buckets_;
    }
    started_.insert(started_.end(), ranges.begin(), ranges.end());
    pending_.clear();
    pendingFloats_ = 0;
}

void GradientBuckets::finish(Recorder& recorder) {
    for (const Parameter& p : waiting_) pending_.push_back(p.range);
    waiting_.clear();
    // Whatever no parameter claims (none today) is summed too: every process must end with the same.
    std::vector<ElementRange> claimed = coalesced(started_);
    for (const ElementRange& r : pending_) claimed.push_back(r);
    claimed = coalesced(claimed);
    uint64_t at = 0;
    for (const ElementRange& r : claimed) {
        if (r.first > at) pending_.push_back({at, r.first - at});
        at = std::max(at, r.first + r.count);
    }
    if (at < gradients_.shape().elements()) pending_.push_back({at, gradients_.shape().elements() - at});
    start(recorder);
    exchange_.recordFinishSums(recorder, gradients_);
}

}  // namespace revnet::training
