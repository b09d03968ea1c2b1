#include "revnet/training/evaluator.hpp"

#include "engine/readback_buffer.hpp"
#include "revnet/kernels/augment.hpp"
#include "revnet/kernels/loss.hpp"
#include "training/batch_filling.hpp"

#include <cstring>

namespace revnet::training {

BatchInputs::BatchInputs(Engine& engine, uint32_t batch, std::size_t imageBytes, const std::vector<float>& values)
    : images(engine.tensor({1, 1, 1, uint32_t(imageBatchBytes(batch, imageBytes) / 4)}, Category::Data, "image batch")),
      normalization(engine.tensor({1, 1, 1, uint32_t(values.size())}, Category::Data, "normalization")),
      counter(engine.tensor({1, 1, 1, 1}, Category::Data, "augmentation counter")) {
    engine.upload(normalization, values);
}

uint64_t BatchInputs::plannedBytes(const MemoryArena& arena, uint32_t batch, std::size_t imageBytes, uint32_t channels) {
    return arena.chargedSize(imageBatchBytes(batch, imageBytes)) + arena.chargedSize(2 * channels * 4) +
           arena.chargedSize(4);
}

std::size_t fillBatch(const datasets::Dataset& data, const std::vector<uint32_t>& order, std::size_t first, uint32_t n,
                      const UploadRing& ring, uint32_t slot, datasets::ImageStream* stream) {
    const std::size_t bytes = data.imageBytes();
    const auto images = ring.bytes(slot, kImages);
    const auto labels = ring.values<uint32_t>(slot, kLabels);
    if (images.size() < n * bytes || labels.size() < n) throw std::logic_error("a batch larger than its upload slot");
    std::fill(labels.begin(), labels.end(), kernels::kIgnoredLabel);
    std::size_t counted = 0;
    if (data.streamed()) {
        const datasets::StreamedBatch b = stream->next();
        std::memcpy(images.data(), b.images, n * bytes);
        for (std::size_t i = 0; i < n; ++i)
            if (b.present[i]) labels[i] = b.labels[i], ++counted;
        return counted;
    }
    std::fill(images.begin(), images.end(), std::byte{0});
    for (std::size_t i = 0; i < n && first + i < order.size(); ++i, ++counted) {
        const std::size_t at = order[first + i];
        std::memcpy(images.data() + i * bytes, data.images.data() + at * bytes, bytes);
        labels[i] = data.labels[at];
    }
    return counted;
}

struct Evaluator::Impl {
    Engine& engine;
    const models::Network& network;
    const datasets::Dataset& test;
    Communicator& processes;
    uint32_t batch;
    std::unique_ptr<UploadRing> inputs;
    std::unique_ptr<ReadbackBuffer> readback;  // the metrics, copied out at the end of every recording
    std::vector<std::unique_ptr<Recorder>> steps;  // one per slot
    std::unique_ptr<datasets::ImageStream> stream;  // image folders
};

Evaluator::Evaluator(Engine& engine, const models::Network& network, const datasets::Dataset& test,
                     const BatchInputs& batchInputs, Communicator& processes)
    : impl_(std::make_unique<Impl>(Impl{engine, network, test, processes, network.options().batch, {}, {}, {}, {}})) {
    Impl& m = *impl_;
    if (test.streamed()) m.stream = std::make_unique<datasets::ImageStream>(test, datasets::ImageStream::Mode::Evaluate);
    m.inputs = std::make_unique<UploadRing>(engine, std::vector<const Tensor*>{&batchInputs.images, &network.labels()},
                                            kSlots, "test inputs");
    m.readback = std::make_unique<ReadbackBuffer>(engine, network.metrics(), "test metrics readback");
    for (uint32_t slot = 0; slot < kSlots; ++slot) {
        auto r = std::make_unique<Recorder>(engine.device());
        m.inputs->recordCopies(*r, slot);
        kernels::augmentImages({engine.pipelines(), *r}, batchInputs.images, 0, batchInputs.normalization,
                               batchInputs.counter, 0, network.batchInput(), {0, false, 0, 0});
        network.recordInference(*r);
        m.readback->recordCopy(*r);
        m.steps.push_back(std::move(r));
    }
}

Evaluator::~Evaluator() = default;

uint64_t Evaluator::plannedBytes(const MemoryArena& arena, uint32_t batch, std::size_t imageBytes) {
    const uint64_t images = BatchInputs::imageBatchBytes(batch, imageBytes);
    return UploadRing::plannedBytes(arena, {images, batch * 4ull}, kSlots) + ReadbackBuffer::plannedBytes(arena, 2 * 4);
}

EvalResult Evaluator::evaluate() {
    const Impl& m = *impl_;
    // Each process evaluates its own consecutive part of the test set.
    const std::size_t rank = m.processes.rank(), size = m.processes.size();
    const std::size_t begin = m.test.size() * rank / size, end = m.test.size() * (rank + 1) / size;
    std::vector<uint32_t> order(end - begin);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = uint32_t(begin + i);
    m.engine.upload(m.network.metrics(), std::vector<float>{0.0f, 0.0f});
    const std::size_t batches = (order.size() + m.batch - 1) / m.batch;
    if (m.stream) m.stream->start(order, m.batch, 0, batches, 0);
    std::size_t counted = 0;
    if (batches) counted += fillBatch(m.test, order, 0, m.batch, *m.inputs, 0, m.stream.get());
    for (std::size_t b = 0; b < batches; ++b) {
        const uint32_t slot = b % kSlots;
        m.inputs->flush(slot);
        m.steps[slot]->submit();
        if (b + 1 < batches)
            counted += fillBatch(m.test, order, (b + 1) * m.batch, m.batch, *m.inputs, (b + 1) % kSlots, m.stream.get());
        m.steps[slot]->wait();
    }
    const auto result = batches ? m.readback->read() : std::vector<float>{0.0f, 0.0f};
    std::vector<double> sums{result[0], result[1], double(counted)};
    m.processes.sum(sums);
    EvalResult r;
    r.samples = std::size_t(sums[2]);
    if (r.samples) r.loss = sums[0] / r.samples, r.accuracy = sums[1] / r.samples;
    return r;
}

std::vector<std::string> Evaluator::unreadable() const {
    return impl_->stream ? impl_->stream->failures() : std::vector<std::string>{};
}

void loadNetworkState(Engine& engine, const models::Network& network, const Checkpoint& c,
                      const std::filesystem::path& file) {
    const models::Architecture& a = network.architecture();
    std::vector<float> weights(network.weights().shape().elements(), 0.0f);
    for (const auto& p : network.parameters()) {
        const std::vector<uint32_t> shape = p.spec.torchShape(), legacy(p.spec.shape.begin(), p.spec.shape.end());
        const auto& w = c.values(a.stateName(p.spec.name), shape, file, legacy);
        std::copy(w.begin(), w.end(), weights.begin() + std::ptrdiff_t(p.offset));
    }
    std::vector<float> stats = engine.download(network.statistics());
    for (const auto& [norm, channels] : a.batchNorms()) {
        const auto at = network.statisticsOf(norm);
        const std::string name = a.stateName(norm);
        const auto& mean = c.values(name + ".running_mean", {channels}, file);
        const auto& var = c.values(name + ".running_var", {channels}, file);
        std::copy(mean.begin(), mean.end(), stats.begin() + std::ptrdiff_t(at.running));
        std::copy(var.begin(), var.end(), stats.begin() + std::ptrdiff_t(at.running + channels));
    }
    engine.upload(network.weights(), weights);
    engine.upload(network.statistics(), stats);
}

}  // namespace revnet::training
