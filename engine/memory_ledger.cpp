#include "revnet/engine/memory_ledger.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace revnet {

const char* categoryName(Category category) {
    switch (category) {
        case Category::Parameters: return "parameters";
        case Category::Gradients: return "gradients";
        case Category::OptimizerState: return "optimizer state";
        case Category::Statistics: return "bn statistics";
        case Category::Activations: return "saved activations";
        case Category::Workspace: return "workspace";
        case Category::Data: return "data";
        case Category::Staging: return "staging";
        case Category::Other: return "other";
    }
    return "?";
}

std::string formatBytes(std::uint64_t bytes) {
    char text[64];
    std::snprintf(text, sizeof text, "%.1f MiB (%llu bytes)", bytes / (1024.0 * 1024.0),
                  static_cast<unsigned long long>(bytes));
    return text;
}

void MemoryLedger::charge(Category category, std::uint64_t bytes, std::string_view what) {
    if (budget_ && total_ + bytes > *budget_)
        throw BudgetExceeded("memory budget exceeded: " + std::string(what) + " needs " + formatBytes(bytes) +
                             " of " + categoryName(category) + ", with " + formatBytes(total_) +
                             " already in use and a budget of " + formatBytes(*budget_));
    const std::size_t i = index(category);
    current_[i] += bytes;
    peak_[i] = std::max(peak_[i], current_[i]);
    total_ += bytes;
    peakTotal_ = std::max(peakTotal_, total_);
}

void MemoryLedger::release(Category category, std::uint64_t bytes) {
    const std::size_t i = index(category);
    if (bytes > current_[i])
        throw std::logic_error(std::string("memory ledger: releasing more ") + categoryName(category) +
                               " than was charged");
    current_[i] -= bytes;
    total_ -= bytes;
}

void MemoryLedger::resetPeaks() {
    peak_ = current_;
    peakTotal_ = total_;
}

std::string MemoryLedger::report() const {
    std::string out;
    char line[160];
    std::snprintf(line, sizeof line, "%-18s %14s %14s\n", "category", "current MiB", "peak MiB");
    out += line;
    for (std::size_t i = 0; i < kCategoryCount; ++i) {
        std::snprintf(line, sizeof line, "%-18s %14.2f %14.2f\n", categoryName(static_cast<Category>(i)),
                      current_[i] / 1048576.0, peak_[i] / 1048576.0);
        out += line;
    }
    std::snprintf(line, sizeof line, "%-18s %14.2f %14.2f\n", "total", total_ / 1048576.0, peakTotal_ / 1048576.0);
    out += line;
    if (budget_) {
        std::snprintf(line, sizeof line, "%-18s %14.2f\n", "budget", *budget_ / 1048576.0);
        out += line;
    }
    return out;
}

}  // namespace revnet
