// `revnet demo memory --imagenet`: what fits at ImageNet size. For ResNet-50/101 and
// RevNet-54/104 at 3x224x224 and 1000 classes, the planned peak of training at batches
// 32-256 and the largest batch within the memory of common GPUs, as a table and a bar chart;
// then one real RevNet-104 training step whose measured peak is set beside its plan.
#include "tools/commands.hpp"

#include "revnet/engine/memory_ledger.hpp"
#include "tools/step_measurement.hpp"
#include "revnet/training/trainer.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>

namespace revnet::cli {

namespace {

struct Entry {
    std::string label, model;
    models::Backprop backprop;
};

// RevNet-104 with ordinary backprop isolates what reversibility saves on the same network.
const std::vector<Entry> kEntries = {
    {"ResNet-50", "resnet-50", models::Backprop::Stored},
    {"ResNet-101", "resnet-101", models::Backprop::Stored},
    {"RevNet-54", "revnet-54", models::Backprop::Reversible},
    {"RevNet-104", "revnet-104", models::Backprop::Reversible},
    {"RevNet-104, stored", "revnet-104", models::Backprop::Stored},
};
constexpr uint32_t kBatches[] = {32, 64, 128, 256};
constexpr uint32_t kBudgetsGiB[] = {4, 8, 12, 16, 24};
constexpr uint32_t kSize = 224, kClasses = 1000;
constexpr const char* kColors[] = {"#d62728", "#ff9896", "#1f77b4", "#2ca02c", "#98df8a"};

training::TrainConfig configOf(const Entry& e, uint32_t batch) {
    training::TrainConfig c;
    c.model = e.model;
    c.backprop = e.backprop;
    c.batch = batch;
    return c;
}

// Grouped bars: the largest batch of each model (colour) within each budget (group).
void writeBarChart(const std::string& file, const std::vector<std::vector<uint32_t>>& largest, const std::string& device) {
    const double width = 720, height = 440, left = 70, right = 20, top = 50, bottom = 60;
    uint32_t most = 1;
    for (const auto& row : largest)
        for (uint32_t b : row) most = std::max(most, b);
    const double yTop = std::ceil(most / 100.0) * 100;
    auto y = [&](double batch) { return height - bottom - batch / yTop * (height - top - bottom); };
    const std::size_t groups = std::size(kBudgetsGiB), models = kEntries.size();
    const double groupWidth = (width - left - right) / groups, bar = groupWidth * 0.8 / models;
    std::ofstream svg(file);
    if (!svg) throw std::runtime_error("cannot write " + file);
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n"
        << "<text x='" << width / 2 << "' y='22' text-anchor='middle' font-size='14'>Largest training batch at 3x224x224 "
        << "within each memory budget (planned, " << device << ")</text>\n";
    for (double v = 0; v <= yTop + 1e-9; v += yTop / 5)
        svg << "<line x1='" << left - 5 << "' y1='" << y(v) << "' x2='" << width - right << "' y2='" << y(v)
            << "' stroke='#ddd'/><text x='" << left - 8 << "' y='" << y(v) + 4 << "' text-anchor='end'>" << v << "</text>\n";
    for (std::size_t g = 0; g < groups; ++g) {
        const double x0 = left + g * groupWidth + groupWidth * 0.1;
        svg << "<text x='" << left + (g + 0.5) * groupWidth << "' y='" << y(0) + 18 << "' text-anchor='middle'>"
            << kBudgetsGiB[g] << " GiB</text>\n";
        for (std::size_t m = 0; m < models; ++m) {
            const uint32_t b = largest[m][g];
            svg << "<rect x='" << x0 + m * bar << "' y='" << y(b) << "' width='" << bar - 1 << "' height='" << y(0) - y(b)
                << "' fill='" << kColors[m] << "'><title>" << kEntries[m].label << ", " << kBudgetsGiB[g]
                << " GiB: batch " << b << "</title></rect><text x='" << x0 + (m + 0.5) * bar << "' y='" << y(b) - 3
                << "' text-anchor='middle' font-size='9'>" << b << "</text>\n";
        }
    }
    svg << "<line x1='" << left << "' y1='" << y(0) << "' x2='" << width - right << "' y2='" << y(0) << "' stroke='black'/>\n"
        << "<text x='" << (left + width - right) / 2 << "' y='" << height - 15
        << "' text-anchor='middle'>device memory budget</text>\n"
        << "<text transform='translate(18," << (top + height - bottom) / 2 << ") rotate(-90)' text-anchor='middle'>"
        << "largest batch that fits</text>\n";
    for (std::size_t m = 0; m < models; ++m)
        svg << "<rect x='" << left + 15 << "' y='" << top + 2 + 18 * m << "' width='14' height='12' fill='" << kColors[m]
            << "'/><text x='" << left + 35 << "' y='" << top + 12 + 18 * m << "'>" << kEntries[m].label << "</text>\n";
    svg << "</svg>\n";
}

}  // namespace

int imagenetMemoryDemo(Engine& engine, const std::string& chart, uint32_t stepBatch) {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    std::printf("Training at 3x%ux%u, %u classes, planned on %s (weights, momentum, activations, workspace,\n"
                "batches in flight): peak in GiB by batch, and the largest batch within each budget\n\n",
                kSize, kSize, kClasses, engine.info().name.c_str());
    std::printf("%-19s %11s", "model", "parameters");
    for (uint32_t b : kBatches) std::printf("  b=%-5u", b);
    for (uint32_t g : kBudgetsGiB) std::printf(" %4u GiB", g);
    std::printf("\n");
    std::vector<std::vector<uint32_t>> largest;
    for (const Entry& e : kEntries) {
        const auto arch = models::expand(models::modelByName(e.model), 3, kSize, kSize, kClasses);
        std::printf("%-19s %11llu", e.label.c_str(), static_cast<unsigned long long>(arch.parameterCount()));
        for (uint32_t b : kBatches)
            std::printf("  %7.2f", training::plannedTrainingBytes(engine, configOf(e, b), 3, kSize, kSize, kClasses) / gib);
        largest.emplace_back();
        for (uint32_t g : kBudgetsGiB) {
            largest.back().push_back(training::largestBatchWithin(engine, configOf(e, 1), 3, kSize, kSize, kClasses,
                                                                  uint64_t(g) << 30));
            std::printf(" %8u", largest.back().back());
        }
        std::printf("\n");
        std::fflush(stdout);
    }
    writeBarChart(chart, largest, engine.info().name);
    std::printf("\nchart: %s\n", chart.c_str());
    if (stepBatch == 0) return 0;

    std::printf("\nOne real RevNet-104 training step at batch %u, 3x%ux%u (minutes on a CPU device) ...\n", stepBatch,
                kSize, kSize);
    std::fflush(stdout);
    models::NetworkOptions o;
    o.batch = stepBatch;
    const auto arch = models::expand(models::modelByName("revnet-104"), 3, kSize, kSize, kClasses);
    const StepMeasurement m = measureStep(engine, arch, o, 0);
    std::printf("measured peak %s, planned %s: %s\n", formatBytes(m.peak).c_str(), formatBytes(m.planned).c_str(),
                m.peak == m.planned ? "equal" : "DIFFERENT");
    return m.peak == m.planned ? 0 : 1;
}

}  // namespace revnet::cli
