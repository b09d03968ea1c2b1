// `revnet demo memory`: peak device memory of a real training step against depth, for ResNets
// and RevNets at one batch size, as a table and an SVG chart; then a budget that ResNet-164
// cannot fit and RevNet-164 can.
#include "tools/commands.hpp"

#include "revnet/engine/memory_ledger.hpp"
#include "tools/step_measurement.hpp"
#include "revnet/training/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace revnet::cli {

namespace {

const char* kHelp =
    "usage: revnet demo memory [--batch N] [--input CxHxW] [--budget SIZE] [--chart FILE] [engine options]\n"
    "       revnet demo memory --imagenet [--step-batch N] [--chart FILE] [engine options]\n\n"
    "Runs one real training step of ResNet-32/56/110/164/302 and RevNet-38/56/110/164/302 at batch N\n"
    "(default 32) on CxHxW inputs (default 3x16x16), prints the measured peak memory beside the\n"
    "plan, and writes a chart of peak memory against depth (default docs/memory-vs-depth.svg).\n"
    "Then the budget scenario: at batch 128 on 3x32x32 with --budget SIZE (default 1GiB), ResNet-164\n"
    "is refused before it starts and RevNet-164 trains a step; and the largest batch ResNet-164\n"
    "plans within it with fp32 and with fp16 storage (--precision fp16).\n\n"
    "--imagenet: ResNet-50/101 and RevNet-54/104 at 3x224x224 and 1000 classes: the planned peak of\n"
    "training at batches 32, 64, 128, 256 and the largest batch within 4, 8, 12, 16 and 24 GiB, as a\n"
    "table and a bar chart (default docs/memory-imagenet.svg); then one real RevNet-104 training\n"
    "step at batch --step-batch (default 16; 0 skips it) with its measured peak beside the plan.\n%s";

struct Point {
    std::string model;
    int depth;
    double peakMiB;
};

int depthOf(const std::string& name) { return std::stoi(name.substr(name.find('-') + 1)); }

void writeChart(const std::string& file, const std::vector<Point>& resnets, const std::vector<Point>& revnets,
                uint32_t batch, const ImageShape& input, const std::string& device) {
    const double width = 640, height = 420, left = 70, right = 20, top = 40, bottom = 60;
    double maxY = 0;
    for (const auto* series : {&resnets, &revnets})
        for (const auto& p : *series) maxY = std::max(maxY, p.peakMiB);
    const double step = std::pow(10.0, std::floor(std::log10(std::max(maxY, 1.0))));
    const double yTop = std::ceil(maxY / step) * step;
    auto x = [&](double depth) { return left + (depth / 320.0) * (width - left - right); };
    auto y = [&](double mib) { return height - bottom - (mib / yTop) * (height - top - bottom); };
    std::ofstream svg(file);
    if (!svg) throw std::runtime_error("cannot write " + file);
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
    svg << "<text x='" << width / 2 << "' y='22' text-anchor='middle' font-size='14'>Peak device memory of one training "
        << "step, batch " << batch << ", " << input.c << "x" << input.h << "x" << input.w << " (" << device << ")</text>\n";
    for (int d = 0; d <= 320; d += 40) {
        svg << "<line x1='" << x(d) << "' y1='" << y(0) << "' x2='" << x(d) << "' y2='" << y(0) + 5 << "' stroke='black'/>"
            << "<text x='" << x(d) << "' y='" << y(0) + 18 << "' text-anchor='middle'>" << d << "</text>\n";
    }
    for (double v = 0; v <= yTop + 1e-9; v += yTop / 5) {
        svg << "<line x1='" << left - 5 << "' y1='" << y(v) << "' x2='" << width - right << "' y2='" << y(v)
            << "' stroke='#ddd'/><text x='" << left - 8 << "' y='" << y(v) + 4 << "' text-anchor='end'>" << v << "</text>\n";
    }
    svg << "<line x1='" << left << "' y1='" << y(0) << "' x2='" << width - right << "' y2='" << y(0) << "' stroke='black'/>\n"
        << "<line x1='" << left << "' y1='" << y(0) << "' x2='" << left << "' y2='" << top << "' stroke='black'/>\n"
        << "<text x='" << (left + width - right) / 2 << "' y='" << height - 15 << "' text-anchor='middle'>depth (layers)</text>\n"
        << "<text transform='translate(18," << (top + height - bottom) / 2 << ") rotate(-90)' text-anchor='middle'>"
        << "peak device memory (MiB)</text>\n";
    const std::pair<const std::vector<Point>*, const char*> series[] = {{&resnets, "#d62728"}, {&revnets, "#1f77b4"}};
    for (const auto& [points, color] : series) {
        svg << "<polyline fill='none' stroke='" << color << "' stroke-width='2' points='";
        for (const auto& p : *points) svg << x(p.depth) << "," << y(p.peakMiB) << " ";
        svg << "'/>\n";
        for (const auto& p : *points)
            svg << "<circle cx='" << x(p.depth) << "' cy='" << y(p.peakMiB) << "' r='4' fill='" << color << "'><title>"
                << p.model << ": " << p.peakMiB << " MiB</title></circle>\n";
    }
    svg << "<rect x='" << left + 15 << "' y='" << top + 5 << "' width='250' height='48' fill='white' stroke='#999'/>\n"
        << "<line x1='" << left + 25 << "' y1='" << top + 22 << "' x2='" << left + 50 << "' y2='" << top + 22
        << "' stroke='#d62728' stroke-width='2'/><text x='" << left + 58 << "' y='" << top + 26
        << "'>ResNet (ordinary backprop)</text>\n"
        << "<line x1='" << left + 25 << "' y1='" << top + 42 << "' x2='" << left + 50 << "' y2='" << top + 42
        << "' stroke='#1f77b4' stroke-width='2'/><text x='" << left + 58 << "' y='" << top + 46
        << "'>RevNet (reversible backprop)</text>\n</svg>\n";
}

}  // namespace

int demoCommand(Arguments& args) {
    if (args.help() || !args.word("memory")) {
        std::printf(kHelp, kEngineOptionsHelp);
        return args.help() ? 0 : 2;
    }
    if (args.flag("imagenet")) {
        const auto stepBatch = uint32_t(args.count("step-batch", 16, kMaxBatch));
        const std::string chart = args.option("chart").value_or("docs/memory-imagenet.svg");
        EngineOptions options = engineOptions(args);
        options.budget.reset();  // the budgets are the demo's; planning allocates nothing
        args.finish();
        Engine engine(options);
        return imagenetMemoryDemo(engine, chart, stepBatch);
    }
    const auto batch = uint32_t(args.count("batch", 32, kMaxBatch));
    const ImageShape input = parseImageShape(args.option("input").value_or("3x16x16"), "--input");
    const std::string chart = args.option("chart").value_or("docs/memory-vs-depth.svg");
    EngineOptions options = engineOptions(args);
    const uint64_t budget = options.budget.value_or(uint64_t{1} << 30);
    options.budget.reset();
    args.finish();
    if (batch == 0) throw UsageError("--batch must be at least 1");
    Engine engine(options);

    std::printf("One training step each, batch %u, %ux%ux%u, on %s; memory in MiB as the engine measured it\n\n", batch,
                input.c, input.h, input.w, engine.info().name.c_str());
    std::printf("%-11s %5s %11s %10s %10s %10s %10s\n", "model", "depth", "parameters", "saved act", "workspace", "peak",
                "planned");
    std::vector<Point> resnets, revnets;
    for (const char* name : {"resnet-32", "resnet-56", "resnet-110", "resnet-164", "resnet-302", "revnet-38", "revnet-56",
                             "revnet-110", "revnet-164", "revnet-302"}) {
        const auto arch = models::expand(models::modelByName(name), input.c, input.h, input.w, 10);
        models::NetworkOptions o;
        o.batch = batch;
        const StepMeasurement m = measureStep(engine, arch, o, 0);
        const double mib = 1024.0 * 1024.0;
        std::printf("%-11s %5d %11llu %10.1f %10.1f %10.1f %10.1f\n", name, depthOf(name),
                    static_cast<unsigned long long>(arch.parameterCount()), m.savedActivations / mib, m.workspace / mib,
                    m.peak / mib, m.planned / mib);
        std::fflush(stdout);
        (arch.spec.family == models::Family::ResNet ? resnets : revnets).push_back({name, depthOf(name), m.peak / mib});
    }
    writeChart(chart, resnets, revnets, batch, input, engine.info().name);
    std::printf("\nchart: %s\n", chart.c_str());

    std::printf("\nBudget %s, batch 128, 3x32x32:\n", formatBytes(budget).c_str());
    for (const char* name : {"resnet-164", "revnet-164"}) {
        training::TrainConfig c;
        c.model = name;
        c.batch = 128;
        const uint64_t planned = training::plannedTrainingBytes(engine, c, 3, 32, 32, 10);
        if (planned > budget) {
            std::printf("  %s: refused before it starts: it plans %s, past the budget\n", name, formatBytes(planned).c_str());
            continue;
        }
        const auto arch = models::expand(models::modelByName(name), 3, 32, 32, 10);
        models::NetworkOptions o;
        o.batch = 128;
        engine.memory().ledger().setBudget(budget);
        const StepMeasurement m = measureStep(engine, arch, o, 0);
        engine.memory().ledger().setBudget(std::nullopt);
        std::printf("  %s: plans %s for training and fits; one step ran with a measured peak of %s (its plan: %s)\n",
                    name, formatBytes(planned).c_str(), formatBytes(m.peak).c_str(), formatBytes(m.planned).c_str());
    }
    // What half-precision storage adds to a stored network in the same budget (planned).
    training::TrainConfig c;
    c.model = "resnet-164";
    c.backprop = models::Backprop::Stored;
    const uint32_t full = training::largestBatchWithin(engine, c, 3, 32, 32, 10, budget);
    c.precision = "fp16";
    const uint32_t half = training::largestBatchWithin(engine, c, 3, 32, 32, 10, budget);
    std::printf("  resnet-164 with --precision fp16 (kept activations as halves): batch %u fits, against %u in fp32\n",
                half, full);
    return 0;
}

}  // namespace revnet::cli
