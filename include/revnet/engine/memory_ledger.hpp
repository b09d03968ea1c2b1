// Accounting of device memory to the byte, by category, with current and peak figures and an
// optional budget. Pure bookkeeping: the arena charges it before it touches Vulkan, so a refused
// request leaves both the device and the ledger unchanged.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace revnet {

// Statistics: batch-norm running and batch statistics (2*C floats a layer). Data: input batches.
enum class Category { Parameters, Gradients, OptimizerState, Statistics, Activations, Workspace, Data, Staging, Other };
constexpr std::size_t kCategoryCount = 9;
const char* categoryName(Category category);

class BudgetExceeded : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class MemoryLedger {
public:
    void setBudget(std::optional<std::uint64_t> bytes) { budget_ = bytes; }
    std::optional<std::uint64_t> budget() const { return budget_; }

    // Throws BudgetExceeded, changing nothing, when the charge would pass the budget.
    void charge(Category category, std::uint64_t bytes, std::string_view what);
    void release(Category category, std::uint64_t bytes);

    std::uint64_t current(Category c) const { return current_[index(c)]; }
    std::uint64_t peak(Category c) const { return peak_[index(c)]; }
    std::uint64_t total() const { return total_; }
    std::uint64_t peakTotal() const { return peakTotal_; }

    // Starts a new measurement window: peaks drop to the current figures.
    void resetPeaks();

    // A table of current and peak bytes per category and in total.
    std::string report() const;

private:
    static std::size_t index(Category c) { return static_cast<std::size_t>(c); }

    std::optional<std::uint64_t> budget_;
    std::array<std::uint64_t, kCategoryCount> current_{};
    std::array<std::uint64_t, kCategoryCount> peak_{};
    std::uint64_t total_ = 0;
    std::uint64_t peakTotal_ = 0;
};

// "12.5 MiB (13107200 bytes)"
std::string formatBytes(std::uint64_t bytes);

}  // namespace revnet
