// curves.svg of a run: train and test loss (left panel) and accuracy (right panel) against epoch,
// drawn from the run's metrics.csv, so that a run can be judged at a glance in any browser; and
// the same panels for several runs in one chart (`revnet report`).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace revnet::training {

struct EpochMetrics {
    double epoch, trainLoss, trainAccuracy, testLoss, testAccuracy;
    double imagesPerSecond = 0, peakDeviceMib = 0;
};

struct LabelledRun {
    std::string label;
    std::vector<EpochMetrics> rows;
};

// The rows of a metrics.csv (header as the trainer writes it); throws naming the file and line.
std::vector<EpochMetrics> readMetrics(const std::filesystem::path& csv);
// The chart as SVG text: one polyline of rows.size() points per curve.
std::string curvesSvg(const std::vector<EpochMetrics>& rows, const std::string& title);
// Several runs in one chart: a colour each, test solid and train dashed, a legend of the labels
// below (a run with no finished epoch is named there and not drawn).
std::string comparisonSvg(const std::vector<LabelledRun>& runs, const std::string& title);
// Draws `csv` into `svg`, replacing it whole (replaceFile).
void writeCurves(const std::filesystem::path& csv, const std::filesystem::path& svg, const std::string& title);

}  // namespace revnet::training
