#include "revnet/datasets/image_stream.hpp"

#include "revnet/datasets/image_resize.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

namespace revnet::datasets {

namespace {

// A training pass tries this many files in its order for a position before leaving it empty.
constexpr std::size_t kReplacementTries = 16;

// SplitMix64's finaliser: well-spread seeds from a key and a position.
uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// The shorter side a training image is decoded at: even the smallest crop (8% of the area, at
// ratio 3/4) keeps the input's resolution.
uint32_t trainingShortSide(const Dataset& d) {
    return uint32_t(std::ceil(std::max(d.height, d.width) / std::sqrt(0.08 * 0.75)));
}

}  // namespace

ImageStream::ImageStream(const Dataset& data, Mode mode, unsigned threads, unsigned depth)
    : data_(data), mode_(mode), slots_(std::max(depth, 2u)) {
    if (data.files.empty()) throw std::logic_error("an image stream needs a dataset of files");
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    throughput_.threads = threads;
    for (unsigned t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
}

ImageStream::~ImageStream() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    workers_.clear();  // joins
}

void ImageStream::start(std::vector<uint32_t> order, std::size_t batch, std::size_t first, std::size_t batches,
                        uint64_t key) {
    std::unique_lock lock(mutex_);
    ++generation_;  // decodes in flight finish into nothing
    changed_.wait(lock, [&] { return busy_ == 0; });
    order_ = std::move(order);
    batch_ = std::max<std::size_t>(batch, 1);
    claim_ = first * batch_;
    end_ = (first + batches) * batch_;
    released_ = first;
    key_ = key;
    holding_ = false;
    failures_.clear();
    unusable_.clear();
    const std::size_t bytes = data_.imageBytes();
    for (Slot& s : slots_) {
        s.images.resize(batch_ * bytes);
        s.present.assign(batch_, 0);
        s.labels.assign(batch_, 0);
        s.filled = 0;
    }
    lock.unlock();
    changed_.notify_all();
}

StreamedBatch ImageStream::next() {
    std::unique_lock lock(mutex_);
    if (holding_) {
        slots_[released_ % slots_.size()].filled = 0;
        ++released_;
        holding_ = false;
        changed_.notify_all();
    }
    if (released_ * batch_ >= end_) throw std::logic_error("image stream: a batch past the end of the pass");
    Slot& slot = slots_[released_ % slots_.size()];
    const auto waitStarted = std::chrono::steady_clock::now();
    changed_.wait(lock, [&] { return slot.filled == batch_ || !unusable_.empty(); });
    if (!unusable_.empty()) throw DatasetError(data_.origin, 0, unusable_);
    throughput_.waitSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - waitStarted).count();
    holding_ = true;
    return {slot.images.data(), slot.labels.data(), slot.present.data()};
}

std::vector<std::string> ImageStream::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

ImageStream::Throughput ImageStream::throughput() const {
    std::lock_guard lock(mutex_);
    return throughput_;
}

void ImageStream::work() {
    std::unique_lock lock(mutex_);
    while (true) {
        // A position may be decoded once its batch's slot is free: the consumer holds at most
        // batch released_, and the slots hold the batches after it.
        changed_.wait(lock, [&] { return stopping_ || (claim_ < end_ && claim_ / batch_ < released_ + slots_.size()); });
        if (stopping_) return;
        const std::size_t p = claim_++;
        const uint64_t generation = generation_, key = key_;
        Slot& slot = slots_[(p / batch_) % slots_.size()];
        ++busy_;
        lock.unlock();
        const auto started = std::chrono::steady_clock::now();
        const bool decoded = decodePosition(p, key, slot);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        lock.lock();
        --busy_;
        if (generation == generation_) {
            ++slot.filled;
            throughput_.images += decoded;
            throughput_.busySeconds += seconds;
        }
        changed_.notify_all();
    }
}

bool ImageStream::decodePosition(std::size_t p, uint64_t key, Slot& slot) {
    const std::size_t bytes = data_.imageBytes(), at = p % batch_;
    uint8_t* out = slot.images.data() + at * bytes;
    slot.present[at] = 0;
    if (p >= order_.size()) {
        std::memset(out, 0, bytes);
        return false;
    }
    std::mt19937_64 random(mix(key ^ mix(p)));
    const bool train = mode_ == Mode::Train;
    const std::size_t tries = train ? std::min(kReplacementTries, order_.size()) : 1;
    for (std::size_t t = 0; t < tries; ++t) {
        const uint32_t index = order_[(p + t) % order_.size()];
        {
            std::lock_guard lock(mutex_);
            if (const auto known = bad_.find(index); known != bad_.end()) {
                failures_.push_back(known->second);
                continue;
            }
        }
        try {
            const RgbImage image =
                readImage(data_.files[index], train ? trainingShortSide(data_) : resizedShortSide(data_.height, data_.width));
            if (train) {
                const CropBox box = randomResizedBox(image.height, image.width, random);
                resizeBox(image, box, data_.channels, data_.height, data_.width, random() & 1, out);
            } else {
                resizeCenterCrop(image, data_.channels, data_.height, data_.width, out);
            }
            slot.labels[at] = data_.labels[index];
            slot.present[at] = 1;
            return true;
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            bad_.emplace(index, e.what());
            failures_.push_back(e.what());
        }
    }
    std::memset(out, 0, bytes);
    if (train) {
        std::lock_guard lock(mutex_);
        unusable_ = std::to_string(tries) + " files in a row could not be decoded, the last: " + failures_.back();
    }
    return false;
}

}  // namespace revnet::datasets
