// Test loss and top-1 accuracy of a network in inference mode (running statistics): batches
// uploaded as uint8 through a two-slot upload ring (image folders decoded ahead on host threads),
// normalized on the device without augmentation, one recording per slot. Over several processes
// each evaluates a consecutive part of the test set and the sums are added.
#pragma once

#include "revnet/datasets/dataset.hpp"
#include "revnet/engine/engine.hpp"
#include "revnet/models/network.hpp"
#include "revnet/training/checkpoint.hpp"
#include "revnet/training/communicator.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace revnet::training {

struct EvalResult {
    double loss = 0, accuracy = 0;
    std::size_t samples = 0;
};

// The device tensors a batch passes through on its way into a network: the uint8 images as
// uploaded, the per-channel normalization and the augmentation counter (a trainer's training and
// evaluation share them).
struct BatchInputs {
    BatchInputs(Engine& engine, uint32_t batch, std::size_t imageBytes, const std::vector<float>& normalization);
    Tensor images, normalization, counter;
    // The bytes of a batch of uint8 images as uploaded, in whole 4-byte words.
    static uint64_t imageBatchBytes(uint32_t batch, std::size_t imageBytes) { return (uint64_t(batch) * imageBytes + 3) / 4 * 4; }
    static uint64_t plannedBytes(const MemoryArena& arena, uint32_t batch, std::size_t imageBytes, uint32_t channels);
};

class Evaluator {
public:
    // `network` (at the batch it was planned for), `test` and `inputs` must outlive it.
    Evaluator(Engine& engine, const models::Network& network, const datasets::Dataset& test, const BatchInputs& inputs,
              Communicator& processes);
    ~Evaluator();
    EvalResult evaluate();
    // Files of an image folder that could not be decoded in the evaluations so far ("file: why").
    std::vector<std::string> unreadable() const;
    // Device bytes it holds beside the network's and the inputs': its upload ring and readback.
    static uint64_t plannedBytes(const MemoryArena& arena, uint32_t batch, std::size_t imageBytes);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The network's weights and running statistics from a checkpoint (PyTorch's names and shapes, or
// the older 4-D ones); CheckpointError naming the tensor that is missing or misshapen.
void loadNetworkState(Engine& engine, const models::Network& network, const Checkpoint& checkpoint,
                      const std::filesystem::path& file);

}  // namespace revnet::training
