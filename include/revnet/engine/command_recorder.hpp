// Records many dispatches into command buffers with only the barriers their buffer accesses need,
// submits them with a fence, and can replay the recording any number of times. Long recordings
// are split into several submissions so that no single one trips a GPU driver's watchdog.
// With profiling on, every dispatch is bracketed by timestamps and timed per kernel name.
#pragma once

#include "revnet/engine/device.hpp"
#include "revnet/engine/hazard_tracker.hpp"
#include "revnet/engine/pipelines.hpp"
#include "revnet/engine/push_layout.hpp"
#include "revnet/engine/tensor.hpp"

#include <array>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace revnet {

struct RecorderOptions {
    bool profile = false;
    uint32_t maxDispatchesPerSubmit = 1024;
};

struct KernelTiming {
    std::string name;
    std::uint64_t count = 0;
    double totalMs = 0;
    double flops = 0;  // the arithmetic its dispatches were credited with (countFlops), in total
    double meanUs() const { return count ? totalMs * 1000.0 / count : 0; }
    double gflops() const { return totalMs > 0 ? flops / totalMs / 1e6 : 0; }
};

class Recorder {
public:
    explicit Recorder(const Device& device, RecorderOptions options = {});
    ~Recorder();
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    // Binds `views` to the kernel's bindings in binding order. `push` must be exactly the
    // shader's push-constant block: a struct of 32-bit scalars (and structs of them) with the
    // block's scalars at the block's offsets (push_layout.hpp), or raw bytes of its size.
    void dispatch(const Kernel& kernel, std::span<const TensorView> views, std::span<const std::byte> push,
                  std::array<uint32_t, 3> groups);
    template <typename Push>
    void dispatch(const Kernel& kernel, std::span<const TensorView> views, const Push& push, std::array<uint32_t, 3> groups) {
        checkPushScalars(kernel, sizeof(Push), pushScalars(push));
        dispatch(kernel, views, std::as_bytes(std::span<const Push>(&push, 1)), groups);
    }
    template <typename Push>
    void dispatch(const Kernel& kernel, std::initializer_list<TensorView> views, const Push& push,
                  std::array<uint32_t, 3> groups) {
        dispatch(kernel, std::span<const TensorView>(views.begin(), views.size()), push, groups);
    }
    void copy(const BufferRegion& source, const BufferRegion& destination);
    // Credits the last recorded dispatch with `flops` floating-point operations, which the
    // profile's timings add up per kernel (GFLOP/s beside the device's peak).
    void countFlops(double flops);
    // The floating-point operations credited to everything recorded: one run's arithmetic.
    double flopsPerRun() const;

    // Ends the recording's current submission: on every replay, once the work recorded so far is
    // done (its writes visible to the host), `step` runs on the host, and then the rest is
    // submitted (host writes made in it visible to what follows). For exchanges with other
    // processes in the middle of a step; each costs the device a drain, so use few.
    void hostStep(std::function<void()> step);
    // Host work to do, again and again, while wait() waits for the device (moving on exchanges
    // with other processes that host steps started).
    void whileWaiting(std::function<void()> work) { whileWaiting_ = std::move(work); }

    // Submits everything recorded and waits. The first call closes the recording; later calls
    // replay it. submit() and wait() are its halves, for host work between them; with host steps,
    // submit() starts the work before the first of them and wait() runs the rest.
    void run();
    void submit();
    void wait();

    std::size_t dispatches() const { return dispatches_; }
    std::size_t barriers() const { return barriers_; }
    std::size_t submissionsPerRun() const { return chunks_.size(); }
    // Accumulated over every run, slowest first (profiling only). Profiling on a device without
    // timestamp queries records nothing; timingReport() says they are unavailable.
    std::vector<KernelTiming> timings() const;
    bool timingsAvailable() const { return !timingsUnavailable_; }
    std::string timingReport() const;

private:
    // Throws naming the kernel and the first scalar where a host struct of `bytes` bytes and the
    // shader's block differ (a struct of another size is left to the size check).
    static void checkPushScalars(const Kernel& kernel, std::size_t bytes, const std::vector<PushScalar>& host);
    struct Chunk;
    Chunk& current();
    void beforeCommand(std::span<const BufferRegion> reads, std::span<const BufferRegion> writes);
    void fullBarrier(VkCommandBuffer commands, VkPipelineStageFlags dstStage, VkAccessFlags dstAccess);
    VkDescriptorSet allocateSet(const Kernel& kernel);
    VkBufferView texelView(const VkDescriptorBufferInfo& range, TexelFormat format);
    void submitSegment();  // from chunk next_ to the first with a host step, or the end
    void collectTimings(std::size_t first, std::size_t end);

    const Device& device_;
    RecorderOptions options_;
    UniqueHandle<VkCommandPool> commandPool_;
    UniqueHandle<VkFence> fence_;
    std::vector<UniqueHandle<VkDescriptorPool>> descriptorPools_;
    std::vector<UniqueHandle<VkBufferView>> bufferViews_;
    uint32_t setsInPool_ = 0;
    std::vector<std::unique_ptr<Chunk>> chunks_;
    HazardTracker hazards_;
    bool closed_ = false, pending_ = false;
    std::size_t next_ = 0, segmentStart_ = 0;  // chunks of the run in progress: next to submit, first pending
    std::function<void()> whileWaiting_;
    bool timingsUnavailable_ = false;  // profiling asked for on a device without timestamps
    std::size_t dispatches_ = 0, barriers_ = 0;
    std::map<std::string, KernelTiming> timings_;
};

}  // namespace revnet
