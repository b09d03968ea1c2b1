#include "revnet/engine/command_recorder.hpp"

#include "engine/vulkan_error.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace revnet {

namespace {

constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kDescriptorsPerSet = 10;

constexpr VkPipelineStageFlags kWorkStages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
constexpr VkAccessFlags kWrites = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
constexpr VkAccessFlags kAccesses = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                    VK_ACCESS_UNIFORM_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                                    VK_ACCESS_TRANSFER_WRITE_BIT;

VkDeviceSize maxBindingBytes(const ShaderBinding& b, const VkPhysicalDeviceLimits& limits) {
    switch (b.kind) {
        case DescriptorKind::StorageBuffer: return limits.maxStorageBufferRange;
        case DescriptorKind::UniformBuffer: return limits.maxUniformBufferRange;
        default: return VkDeviceSize{limits.maxTexelBufferElements} * texelBytes(b.format);
    }
}

}  // namespace

struct Recorder::Chunk {
    VkCommandBuffer commands = VK_NULL_HANDLE;
    UniqueHandle<VkQueryPool> queries;
    std::vector<std::string> labels;  // one per dispatch, in timestamp order
    std::vector<double> flops;        // one per dispatch
    std::function<void()> hostStep;   // runs after this chunk's work, before the next is submitted
    bool ended = false;
};

Recorder::Recorder(const Device& device, RecorderOptions options) : device_(device), options_(options) {
    // Without timestamps on the compute queue, profiling is off and says so rather than guess.
    timingsUnavailable_ = options_.profile && !device.timestampValidBits();
    if (timingsUnavailable_) options_.profile = false;
    if (options_.maxDispatchesPerSubmit == 0) options_.maxDispatchesPerSubmit = 1;
    VkDevice d = device.handle();

    VkCommandPoolCreateInfo poolInfo{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    poolInfo.queueFamilyIndex = device.queueFamily();
    VkCommandPool pool = VK_NULL_HANDLE;
    check(vkCreateCommandPool(d, &poolInfo, nullptr, &pool), "vkCreateCommandPool");
    commandPool_ = UniqueHandle<VkCommandPool>(pool, [d](VkCommandPool p) { vkDestroyCommandPool(d, p, nullptr); });

    VkFenceCreateInfo fenceInfo{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence = VK_NULL_HANDLE;
    check(vkCreateFence(d, &fenceInfo, nullptr, &fence), "vkCreateFence");
    fence_ = UniqueHandle<VkFence>(fence, [d](VkFence f) { vkDestroyFence(d, f, nullptr); });
}

Recorder::~Recorder() {
    if (!pending_) return;  // the command buffers must outlive their execution
    VkFence fence = fence_.get();
    vkWaitForFences(device_.handle(), 1, &fence, VK_TRUE, UINT64_MAX);
}

Recorder::Chunk& Recorder::current() {
    if (closed_) throw std::logic_error("recorder: cannot record after run(); make a new recorder");
    if (!chunks_.empty() && !chunks_.back()->ended && chunks_.back()->labels.size() < options_.maxDispatchesPerSubmit)
        return *chunks_.back();
    if (!chunks_.empty() && !chunks_.back()->ended) {
        check(vkEndCommandBuffer(chunks_.back()->commands), "vkEndCommandBuffer");
        chunks_.back()->ended = true;
    }

    auto chunk = std::make_unique<Chunk>();
    VkDevice d = device_.handle();
    VkCommandBufferAllocateInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    info.commandPool = commandPool_.get();
    info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    info.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(d, &info, &chunk->commands), "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    check(vkBeginCommandBuffer(chunk->commands, &begin), "vkBeginCommandBuffer");
    if (options_.profile) {
        VkQueryPoolCreateInfo queryInfo{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
        queryInfo.queryType = VK_QUERY_TYPE_TIMESTAMP;
        queryInfo.queryCount = 2 * options_.maxDispatchesPerSubmit;
        VkQueryPool queries = VK_NULL_HANDLE;
        check(vkCreateQueryPool(d, &queryInfo, nullptr, &queries), "vkCreateQueryPool");
        chunk->queries = UniqueHandle<VkQueryPool>(queries, [d](VkQueryPool q) { vkDestroyQueryPool(d, q, nullptr); });
        vkCmdResetQueryPool(chunk->commands, queries, 0, queryInfo.queryCount);
    }
    // Work of an earlier run or recorder may still be writing what this reads: one barrier
    // orders this recording after everything submitted before it.
    if (chunks_.empty()) fullBarrier(chunk->commands, kWorkStages, kAccesses);
    chunks_.push_back(std::move(chunk));
    return *chunks_.back();
}

void Recorder::fullBarrier(VkCommandBuffer commands, VkPipelineStageFlags dstStage, VkAccessFlags dstAccess) {
    VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    barrier.srcAccessMask = kWrites;
    barrier.dstAccessMask = dstAccess;
    vkCmdPipelineBarrier(commands, kWorkStages, dstStage, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

void Recorder::beforeCommand(std::span<const BufferRegion> reads, std::span<const BufferRegion> writes) {
    // Profiled dispatches are serialized: GPUs overlap independent ones, and the time between
    // two timestamps would then be shared work.
    if (hazards_.needsBarrier(reads, writes) || (options_.profile && dispatches_ > 0)) {
        fullBarrier(chunks_.back()->commands, kWorkStages, kAccesses);
        hazards_.barrier();
        ++barriers_;
    }
    hazards_.record(reads, writes);
}

VkDescriptorSet Recorder::allocateSet(const Kernel& kernel) {
    VkDevice d = device_.handle();
    if (descriptorPools_.empty() || setsInPool_ == kSetsPerPool) {
        const VkDescriptorPoolSize sizes[] = {
            {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kDescriptorsPerSet},
            {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, kSetsPerPool * kDescriptorsPerSet},
            {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, kSetsPerPool * kDescriptorsPerSet},
            {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, kSetsPerPool * kDescriptorsPerSet},
        };
        VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
        info.maxSets = kSetsPerPool;
        info.poolSizeCount = 4;
        info.pPoolSizes = sizes;
        VkDescriptorPool pool = VK_NULL_HANDLE;
        check(vkCreateDescriptorPool(d, &info, nullptr, &pool), "vkCreateDescriptorPool");
        descriptorPools_.emplace_back(pool, [d](VkDescriptorPool p) { vkDestroyDescriptorPool(d, p, nullptr); });
        setsInPool_ = 0;
    }
    VkDescriptorSetLayout layout = kernel.setLayout.get();
    VkDescriptorSetAllocateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    info.descriptorPool = descriptorPools_.back().get();
    info.descriptorSetCount = 1;
    info.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    check(vkAllocateDescriptorSets(d, &info, &set), "vkAllocateDescriptorSets", kernel.name);
    ++setsInPool_;
    return set;
}

// A texel view covers the whole texels of the range; it lives as long as the recording.
VkBufferView Recorder::texelView(const VkDescriptorBufferInfo& range, TexelFormat format) {
    VkBufferViewCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
    info.buffer = range.buffer;
    info.format = texelFormat(format);
    info.offset = range.offset;
    info.range = std::max(range.range / texelBytes(format), VkDeviceSize{1}) * texelBytes(format);
    VkDevice d = device_.handle();
    VkBufferView view = VK_NULL_HANDLE;
    check(vkCreateBufferView(d, &info, nullptr, &view), "vkCreateBufferView");
    bufferViews_.emplace_back(view, [d](VkBufferView v) { vkDestroyBufferView(d, v, nullptr); });
    return view;
}

namespace {

const char* scalarName(ScalarKind kind) {
    switch (kind) {
        case ScalarKind::Uint: return "a uint";
        case ScalarKind::Int: return "an int";
        case ScalarKind::Float: return "a float";
    }
    return "?";
}

}  // namespace

void Recorder::checkPushScalars(const Kernel& kernel, std::size_t bytes, const std::vector<PushScalar>& host) {
    const auto& shader = kernel.interface.pushScalars;
    if (bytes != kernel.interface.pushConstantBytes) return;
    for (std::size_t i = 0; i < std::max(host.size(), shader.size()); ++i) {
        if (i < host.size() && i < shader.size() && host[i] == shader[i]) continue;
        const PushScalar& at = i < host.size() ? host[i] : shader[i];
        const auto it = std::find_if(shader.begin(), shader.end(), [&](const PushScalar& s) { return s.offset == at.offset; });
        const auto mine = std::find_if(host.begin(), host.end(), [&](const PushScalar& s) { return s.offset == at.offset; });
        throw std::invalid_argument(kernel.name + ": push constant at byte " + std::to_string(at.offset) + " is " +
                                    (it == shader.end() ? "padding" : scalarName(it->kind)) + " in the shader, " +
                                    (mine == host.end() ? "padding" : scalarName(mine->kind)) + " on the host");
    }
}

void Recorder::dispatch(const Kernel& kernel, std::span<const TensorView> views, std::span<const std::byte> push,
                        std::array<uint32_t, 3> groups) {
    const auto& iface = kernel.interface;
    if (views.size() != iface.bindings.size())
        throw std::invalid_argument(kernel.name + " takes " + std::to_string(iface.bindings.size()) +
                                    " buffers, given " + std::to_string(views.size()));
    if (push.size() != iface.pushConstantBytes)
        throw std::invalid_argument(kernel.name + ": host push constants are " + std::to_string(push.size()) +
                                    " bytes, the shader's are " + std::to_string(iface.pushConstantBytes));
    if (iface.bindings.size() > kDescriptorsPerSet)
        throw std::invalid_argument(kernel.name + " has more bindings than the recorder supports");
    const auto& limits = device_.info().limits;
    for (int axis = 0; axis < 3; ++axis)
        if (groups[axis] == 0 || groups[axis] > limits.maxComputeWorkGroupCount[axis])
            throw std::invalid_argument(kernel.name + ": workgroup count " + std::to_string(groups[axis]) +
                                        " out of the device's range");

    std::vector<BufferRegion> reads, writes;
    std::vector<VkDescriptorBufferInfo> infos(views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
        const ShaderBinding& b = iface.bindings[i];
        const BufferRegion region = views[i].binding();
        const VkDeviceSize maxRange = maxBindingBytes(b, limits);
        if (region.bytes > maxRange)
            throw std::invalid_argument(kernel.name + ": binding " + std::to_string(b.binding) + " is " +
                                        std::to_string(region.bytes) + " bytes, past the device's limit of " +
                                        std::to_string(maxRange));
        infos[i] = {region.buffer, region.offset, region.bytes};
        if (b.reads) reads.push_back(region);
        if (b.writes) writes.push_back(region);
    }

    Chunk& chunk = current();
    beforeCommand(reads, writes);

    VkDescriptorSet set = allocateSet(kernel);
    std::vector<VkWriteDescriptorSet> descriptorWrites(views.size());
    std::vector<VkBufferView> texelViews(views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
        auto& w = descriptorWrites[i];
        w = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w.dstSet = set;
        w.dstBinding = iface.bindings[i].binding;
        w.descriptorCount = 1;
        w.descriptorType = descriptorType(iface.bindings[i].kind);
        if (iface.bindings[i].format == TexelFormat::None) w.pBufferInfo = &infos[i];
        else {
            texelViews[i] = texelView(infos[i], iface.bindings[i].format);
            w.pTexelBufferView = &texelViews[i];
        }
    }
    vkUpdateDescriptorSets(device_.handle(), static_cast<uint32_t>(descriptorWrites.size()), descriptorWrites.data(), 0,
                           nullptr);

    VkCommandBuffer commands = chunk.commands;
    const uint32_t query = static_cast<uint32_t>(2 * chunk.labels.size());
    if (options_.profile)
        vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, chunk.queries.get(), query);
    vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.pipeline.get());
    vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.layout.get(), 0, 1, &set, 0, nullptr);
    if (!push.empty())
        vkCmdPushConstants(commands, kernel.layout.get(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           static_cast<uint32_t>(push.size()), push.data());
    vkCmdDispatch(commands, groups[0], groups[1], groups[2]);
    if (options_.profile)
        vkCmdWriteTimestamp(commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, chunk.queries.get(), query + 1);
    chunk.labels.push_back(kernel.name);
    chunk.flops.push_back(0);
    ++dispatches_;
}

void Recorder::countFlops(double flops) {
    if (chunks_.empty() || chunks_.back()->flops.empty()) throw std::logic_error("recorder: flops counted before any dispatch");
    chunks_.back()->flops.back() += flops;
}

double Recorder::flopsPerRun() const {
    double total = 0;
    for (const auto& chunk : chunks_)
        for (double f : chunk->flops) total += f;
    return total;
}

void Recorder::copy(const BufferRegion& source, const BufferRegion& destination) {
    if (source.bytes != destination.bytes) throw std::invalid_argument("recorder: copy between ranges of different sizes");
    if (source.bytes == 0) return;  // Vulkan forbids empty copy regions
    Chunk& chunk = current();
    beforeCommand({&source, 1}, {&destination, 1});
    const VkBufferCopy region{source.offset, destination.offset, source.bytes};
    vkCmdCopyBuffer(chunk.commands, source.buffer, destination.buffer, 1, &region);
}

void Recorder::run() {
    submit();
    wait();
}

void Recorder::hostStep(std::function<void()> step) {
    Chunk& chunk = current();
    // What the host reads in the step was written by the work before it.
    fullBarrier(chunk.commands, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT | VK_ACCESS_HOST_WRITE_BIT);
    check(vkEndCommandBuffer(chunk.commands), "vkEndCommandBuffer");
    chunk.ended = true;
    chunk.hostStep = std::move(step);
}

void Recorder::submit() {
    if (pending_) throw std::logic_error("recorder: submit() again before wait()");
    if (chunks_.empty()) return;
    if (!closed_) {
        if (!chunks_.back()->ended) {
            // Results are read by the host after the fence.
            fullBarrier(chunks_.back()->commands, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
            check(vkEndCommandBuffer(chunks_.back()->commands), "vkEndCommandBuffer");
            chunks_.back()->ended = true;
        }
        closed_ = true;
    }
    next_ = 0;
    submitSegment();
}

void Recorder::submitSegment() {
    VkDevice d = device_.handle();
    VkFence fence = fence_.get();
    check(vkResetFences(d, 1, &fence), "vkResetFences");
    segmentStart_ = next_;
    for (; next_ < chunks_.size(); ++next_) {
        VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
        submit.commandBufferCount = 1;
        submit.pCommandBuffers = &chunks_[next_]->commands;
        const bool last = next_ + 1 == chunks_.size() || chunks_[next_]->hostStep;
        check(vkQueueSubmit(device_.queue(), 1, &submit, last ? fence : VK_NULL_HANDLE), "vkQueueSubmit");
        if (last) break;
    }
    ++next_;
    pending_ = true;
}

void Recorder::wait() {
    // Between rounds of whileWaiting work: often enough for exchanges to move on, rarely enough
    // not to take a core from a CPU device (100 us slowed two lavapipe processes by a third).
    constexpr uint64_t kPollNs = 1'000'000;
    while (pending_) {
        VkFence fence = fence_.get();
        for (;;) {
            const VkResult r = vkWaitForFences(device_.handle(), 1, &fence, VK_TRUE, whileWaiting_ ? kPollNs : UINT64_MAX);
            if (r != VK_TIMEOUT) {
                check(r, "vkWaitForFences", std::to_string(dispatches_) + " dispatches");
                break;
            }
            whileWaiting_();
        }
        pending_ = false;
        if (options_.profile) collectTimings(segmentStart_, next_);
        if (next_ == chunks_.size()) return;
        chunks_[next_ - 1]->hostStep();
        submitSegment();
    }
}

void Recorder::collectTimings(std::size_t first, std::size_t end) {
    const double period = device_.info().limits.timestampPeriod;
    const uint64_t mask = device_.timestampValidBits() >= 64 ? ~uint64_t{0}
                                                             : (uint64_t{1} << device_.timestampValidBits()) - 1;
    for (std::size_t c = first; c < end; ++c) {
        const auto& chunk = chunks_[c];
        const auto count = static_cast<uint32_t>(2 * chunk->labels.size());
        if (count == 0) continue;
        std::vector<uint64_t> stamps(count);
        check(vkGetQueryPoolResults(device_.handle(), chunk->queries.get(), 0, count, count * sizeof(uint64_t),
                                    stamps.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
              "vkGetQueryPoolResults");
        for (std::size_t i = 0; i < chunk->labels.size(); ++i) {
            const uint64_t ticks = ((stamps[2 * i + 1] & mask) - (stamps[2 * i] & mask)) & mask;
            KernelTiming& t = timings_[chunk->labels[i]];
            t.name = chunk->labels[i];
            t.count += 1;
            t.totalMs += ticks * period * 1e-6;
            t.flops += chunk->flops[i];
        }
    }
}

std::vector<KernelTiming> Recorder::timings() const {
    std::vector<KernelTiming> out;
    for (const auto& [name, t] : timings_) out.push_back(t);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.totalMs > b.totalMs; });
    return out;
}

std::string Recorder::timingReport() const {
    if (timingsUnavailable_)
        return "kernel timings unavailable: " + device_.info().name + " has no timestamp queries on its compute queue\n";
    std::string out;
    char line[200];
    std::snprintf(line, sizeof line, "%-28s %8s %12s %12s\n", "kernel", "count", "total ms", "mean us");
    out += line;
    for (const auto& t : timings()) {
        std::snprintf(line, sizeof line, "%-28s %8llu %12.3f %12.1f\n", t.name.c_str(),
                      static_cast<unsigned long long>(t.count), t.totalMs, t.meanUs());
        out += line;
    }
    return out;
}

}  // namespace revnet
