// `revnet report RUN_DIR...`: several runs side by side, as one chart (report.svg: loss and
// accuracy per epoch, a colour per run) and a table of each run's final figures.
#include "tools/commands.hpp"

#include "revnet/training/run_curves.hpp"
#include "revnet/training/run_directory.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace revnet::cli {

namespace {

namespace fs = std::filesystem;

// A run's name in the chart and table: its directory's own name, or the path when two runs share it.
std::vector<std::string> labelsOf(const std::vector<std::string>& dirs) {
    std::vector<std::string> labels;
    for (const auto& dir : dirs) {
        fs::path path = fs::path(dir).lexically_normal();
        if (!path.has_filename()) path = path.parent_path();  // "runs/a/"
        labels.push_back(path.filename().string());
    }
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i].empty() || std::count(labels.begin(), labels.end(), labels[i]) > 1) labels[i] = dirs[i];
    return labels;
}

void printTable(const std::vector<training::LabelledRun>& runs) {
    std::size_t width = 3;
    for (const auto& run : runs) width = std::max(width, run.label.size());
    std::printf("%-*s %6s %10s %9s %10s %9s %15s %9s %9s\n", int(width), "run", "epochs", "train loss", "train acc",
                "test loss", "test acc", "best test acc", "images/s", "peak MiB");
    for (const auto& run : runs) {
        if (run.rows.empty()) {
            std::printf("%-*s %6s  (no epoch finished)\n", int(width), run.label.c_str(), "0");
            continue;
        }
        const auto& last = run.rows.back();
        const auto best = std::max_element(run.rows.begin(), run.rows.end(),
                                           [](const auto& a, const auto& b) { return a.testAccuracy < b.testAccuracy; });
        double imagesPerSecond = 0, peak = 0;
        for (const auto& r : run.rows) imagesPerSecond += r.imagesPerSecond / double(run.rows.size()), peak = std::max(peak, r.peakDeviceMib);
        char bestText[32];
        std::snprintf(bestText, sizeof bestText, "%.2f%% (%g)", 100 * best->testAccuracy, best->epoch);
        std::printf("%-*s %6g %10.4f %8.2f%% %10.4f %8.2f%% %15s %9.1f %9.1f\n", int(width), run.label.c_str(), last.epoch,
                    last.trainLoss, 100 * last.trainAccuracy, last.testLoss, 100 * last.testAccuracy, bestText,
                    imagesPerSecond, peak);
    }
}

}  // namespace

int reportCommand(Arguments& args) {
    if (args.help()) {
        std::printf("usage: revnet report RUN_DIR... [--output FILE]\n\n"
                    "Draws the runs' loss and accuracy per epoch in one chart (a colour per run; test solid,\n"
                    "train dashed) and prints each run's final figures: the last epoch's losses and\n"
                    "accuracies, the best test accuracy (and its epoch), mean images/s, peak device MiB.\n"
                    "Reads each directory's metrics.csv, so runs still training can be compared too.\n\n"
                    "  --output FILE    where the chart goes (default: report.svg)\n");
        return 0;
    }
    const fs::path output = args.option("output").value_or("report.svg");
    const auto dirs = args.rest();
    args.finish();
    if (dirs.empty()) throw UsageError("give one or more run directories");
    const auto labels = labelsOf(dirs);
    std::vector<training::LabelledRun> runs;
    for (std::size_t i = 0; i < dirs.size(); ++i)
        runs.push_back({labels[i], training::readMetrics(fs::path(dirs[i]) / training::RunDirectory::kMetrics)});
    std::string title = "revnet report:";
    for (const auto& label : labels) title += " " + label;
    training::replaceFile(output, training::comparisonSvg(runs, title));
    printTable(runs);
    std::printf("chart: %s\n", output.c_str());
    return 0;
}

}  // namespace revnet::cli
