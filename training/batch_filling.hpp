// A batch of a dataset written into an upload slot whose first two targets are the uint8 images
// and the uint32 labels: shared by the trainer's training and the evaluator.
#pragma once

#include "revnet/datasets/dataset.hpp"
#include "revnet/datasets/image_stream.hpp"
#include "revnet/engine/upload_ring.hpp"

#include <vector>

namespace revnet::training {

constexpr uint32_t kSlots = 2;  // upload slots: the host fills one while the device reads the other
enum BatchTarget : uint32_t { kImages, kLabels };

// Samples [first, first + n) of `order`; past its end, padding samples (zero images, ignored
// labels) that count for nothing. Streamed data (image folders) come from `stream`, whose pass the
// caller started with this order. Returns the samples that count.
std::size_t fillBatch(const datasets::Dataset& data, const std::vector<uint32_t>& order, std::size_t first, uint32_t n,
                      const UploadRing& ring, uint32_t slot, datasets::ImageStream* stream);

}  // namespace revnet::training
