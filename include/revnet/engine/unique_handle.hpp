// Owns one Vulkan handle and destroys it with the function it was given: RAII for every Vulkan
// object without a wrapper class per handle type.
#pragma once

#include <functional>
#include <utility>

namespace revnet {

template <typename Handle>
class UniqueHandle {
public:
    using Destroy = std::function<void(Handle)>;

    UniqueHandle() = default;
    UniqueHandle(Handle handle, Destroy destroy) : handle_(handle), destroy_(std::move(destroy)) {}
    UniqueHandle(UniqueHandle&& other) noexcept { *this = std::move(other); }
    UniqueHandle& operator=(UniqueHandle&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, Handle{});
            destroy_ = std::move(other.destroy_);
        }
        return *this;
    }
    UniqueHandle(const UniqueHandle&) = delete;
    UniqueHandle& operator=(const UniqueHandle&) = delete;
    ~UniqueHandle() { reset(); }

    Handle get() const { return handle_; }
    explicit operator bool() const { return handle_ != Handle{}; }

    void reset() {
        if (handle_ != Handle{} && destroy_) destroy_(handle_);
        handle_ = Handle{};
    }

private:
    Handle handle_{};
    Destroy destroy_;
};

}  // namespace revnet
