// Batches of an image folder's files, decoded on a pool of host threads ahead of their use: a
// bounded prefetch queue of `depth` batches, so the device need not wait on the decoder and the
// memory held stays depth x batch images whatever the dataset's size.
//
// Training passes crop and flip at random (image_resize.hpp): each image's draws come from the
// pass's key and the image's position in the pass, so the batches do not depend on the number of
// threads or their timing. A file that cannot be decoded is replaced by the next decodable one in
// the pass's order (batch statistics stay those of real images) and is not tried again.
// Evaluation passes take the centre crop and mark a file that cannot be decoded as missing.
#pragma once

#include "revnet/datasets/dataset.hpp"

#include <condition_variable>
#include <mutex>
#include <map>
#include <thread>

namespace revnet::datasets {

struct StreamedBatch {
    const uint8_t* images;   // batch x C x H x W
    const uint32_t* labels;  // batch
    const uint8_t* present;  // batch: 0 where the position is past the order's end or undecodable
};

class ImageStream {
public:
    enum class Mode { Train, Evaluate };
    // `data` lists its files (Dataset::files) and must outlive the stream. `threads` 0: one per
    // hardware thread.
    ImageStream(const Dataset& data, Mode mode, unsigned threads = 0, unsigned depth = 3);
    ~ImageStream();
    ImageStream(const ImageStream&) = delete;
    ImageStream& operator=(const ImageStream&) = delete;

    // Begins a pass of `batches` batches of `batch` images from batch `first` of `order` (indices
    // into the dataset; positions past its end are left empty), dropping any pass in progress.
    void start(std::vector<uint32_t> order, std::size_t batch, std::size_t first, std::size_t batches, uint64_t key);
    // The pass's next batch, once decoded; valid until the next call or start(). DatasetError
    // when a training position found no decodable file among the next 16 in the order.
    StreamedBatch next();

    // Files that could not be decoded in this pass ("file: why"), and how often the pass used them.
    std::vector<std::string> failures() const;
    // Images decoded so far and the seconds the threads spent on them: the loader's own rate is
    // images / (busySeconds / threads). waitSeconds: how long next() waited for the decoders.
    struct Throughput {
        uint64_t images = 0;
        double busySeconds = 0, waitSeconds = 0;
        unsigned threads = 0;
        double imagesPerSecond() const { return busySeconds > 0 ? images / (busySeconds / threads) : 0; }
    };
    Throughput throughput() const;

private:
    struct Slot {
        std::vector<uint8_t> images, present;
        std::vector<uint32_t> labels;
        std::size_t filled = 0;
    };
    void work();
    // Decodes position p of the pass into its slot; false when no file could be used.
    bool decodePosition(std::size_t p, uint64_t key, Slot& slot);

    const Dataset& data_;
    const Mode mode_;
    std::vector<Slot> slots_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    // The pass, under mutex_.
    std::vector<uint32_t> order_;
    std::size_t batch_ = 1, claim_ = 0, end_ = 0, released_ = 0, busy_ = 0;
    uint64_t key_ = 0, generation_ = 0;
    bool holding_ = false, stopping_ = false;
    std::map<uint32_t, std::string> bad_;  // files found undecodable, with why
    std::vector<std::string> failures_;    // of this pass
    std::string unusable_;                 // a training position left empty: the pass cannot go on
    Throughput throughput_;
    std::vector<std::jthread> workers_;
};

}  // namespace revnet::datasets
