#include "revnet/training/run_curves.hpp"

#include "revnet/training/run_directory.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace revnet::training {

namespace fs = std::filesystem;

namespace {

// metrics.csv columns (training/trainer.cpp writes them): step, epoch, lr, train_loss,
// train_accuracy, test_loss, test_accuracy, images_per_second, peak_device_mib.
constexpr int kColumns = 9;

// Text as SVG character data (a title may hold a path with '&' or '<').
std::string escaped(const std::string& text) {
    std::string out;
    for (char ch : text) {
        if (ch == '&') out += "&amp;";
        else if (ch == '<') out += "&lt;";
        else if (ch == '>') out += "&gt;";
        else out += ch;
    }
    return out;
}

EpochMetrics parseRow(const std::string& line, const fs::path& csv, int lineNumber) {
    std::vector<double> values;
    std::istringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');) {
        std::size_t used = 0;
        try {
            values.push_back(std::stod(cell, &used));
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != cell.size())
            throw std::runtime_error(csv.string() + " line " + std::to_string(lineNumber) + ": '" + cell + "' is not a number");
    }
    if (values.size() != kColumns)
        throw std::runtime_error(csv.string() + " line " + std::to_string(lineNumber) + ": " + std::to_string(values.size()) +
                                 " columns, expected " + std::to_string(kColumns));
    return {values[1], values[3], values[4], values[5], values[6], values[7], values[8]};
}

// One curve of a panel: a value per epoch, in a colour, solid or dashed.
struct Series {
    std::string label;
    const char* color;
    bool dashed;
    const std::vector<EpochMetrics>* rows;
    double (*value)(const EpochMetrics&);
};

double trainLoss(const EpochMetrics& r) { return r.trainLoss; }
double testLoss(const EpochMetrics& r) { return r.testLoss; }
double trainAccuracy(const EpochMetrics& r) { return 100 * r.trainAccuracy; }
double testAccuracy(const EpochMetrics& r) { return 100 * r.testAccuracy; }

// A round top for the loss axis over every row; a diverged run (inf, NaN) is clipped at the frame.
double lossAxisTop(const std::vector<const std::vector<EpochMetrics>*>& runs) {
    double lossMax = 0;
    for (const auto* rows : runs)
        for (const auto& r : *rows) lossMax = std::max({lossMax, r.trainLoss, r.testLoss});
    if (!std::isfinite(lossMax) || lossMax <= 0) return 1.0;
    const double step = std::pow(10.0, std::floor(std::log10(lossMax)));
    return std::ceil(lossMax / step) * step;
}

// One panel: its curves in a box at (x0, y0) of size w x h, epochs from the first to the last
// any curve has; labelled top right unless `legend` is false.
void panel(std::ostream& svg, const char* name, const std::vector<Series>& curves, double yMax, double x0, double y0,
           double w, double h, bool legend) {
    double firstEpoch = INFINITY, lastEpoch = -INFINITY;
    for (const auto& curve : curves)
        for (const auto& r : *curve.rows) firstEpoch = std::min(firstEpoch, r.epoch), lastEpoch = std::max(lastEpoch, r.epoch);
    lastEpoch = std::max(lastEpoch, firstEpoch + 1);
    auto x = [&](double epoch) { return x0 + (epoch - firstEpoch) / (lastEpoch - firstEpoch) * w; };
    auto y = [&](double v) { return y0 + h - std::clamp(v / yMax, 0.0, 1.0) * h; };
    svg << "<text x='" << x0 + w / 2 << "' y='" << y0 - 8 << "' text-anchor='middle'>" << name << "</text>\n";
    for (int i = 0; i <= 4; ++i) {
        const double v = yMax * i / 4;
        svg << "<line x1='" << x0 << "' y1='" << y(v) << "' x2='" << x0 + w << "' y2='" << y(v) << "' stroke='#ddd'/>"
            << "<text x='" << x0 - 6 << "' y='" << y(v) + 4 << "' text-anchor='end'>" << v << "</text>\n";
    }
    svg << "<rect x='" << x0 << "' y='" << y0 << "' width='" << w << "' height='" << h << "' fill='none' stroke='black'/>\n"
        << "<text x='" << x0 + w / 2 << "' y='" << y0 + h + 32 << "' text-anchor='middle'>epoch</text>\n"
        << "<text x='" << x0 << "' y='" << y0 + h + 16 << "' text-anchor='middle'>" << firstEpoch << "</text>"
        << "<text x='" << x0 + w << "' y='" << y0 + h + 16 << "' text-anchor='middle'>" << lastEpoch << "</text>\n";
    for (std::size_t c = 0; c < curves.size(); ++c) {
        const Series& curve = curves[c];
        svg << "<polyline class='curve' fill='none' stroke='" << curve.color << "' stroke-width='2'"
            << (curve.dashed ? " stroke-dasharray='6,4'" : "") << " points='";
        for (const auto& r : *curve.rows) svg << x(r.epoch) << ',' << y(curve.value(r)) << ' ';
        svg << "'><title>" << escaped(curve.label) << "</title></polyline>\n";
        if (legend)
            svg << "<text x='" << x0 + w - 8 << "' y='" << y0 + 16 + 16 * c << "' text-anchor='end' fill='" << curve.color
                << "'>" << escaped(curve.label) << "</text>\n";
    }
}

std::string svgStart(double width, double height, const std::string& title) {
    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n"
        << "<text x='" << width / 2 << "' y='22' text-anchor='middle' font-size='14'>" << escaped(title) << "</text>\n";
    return svg.str();
}

constexpr double kWidth = 760, kTop = 60, kPanelW = 280, kPanelH = 220, kLeft = 60, kGap = 90;

}  // namespace

std::vector<EpochMetrics> readMetrics(const fs::path& csv) {
    std::ifstream in(csv);
    if (!in) throw std::runtime_error("cannot read " + csv.string());
    std::string line;
    if (!std::getline(in, line) || !line.starts_with("step,epoch,"))
        throw std::runtime_error(csv.string() + ": not a revnet metrics file (its first line is not the header)");
    std::vector<EpochMetrics> rows;
    for (int number = 2; std::getline(in, line); ++number)
        if (!line.empty()) rows.push_back(parseRow(line, csv, number));
    return rows;
}

std::string curvesSvg(const std::vector<EpochMetrics>& rows, const std::string& title) {
    const double height = 340;
    std::ostringstream svg;
    svg << svgStart(kWidth, height, title);
    if (rows.empty()) {
        svg << "<text x='" << kWidth / 2 << "' y='" << height / 2 << "' text-anchor='middle'>no epoch finished yet</text>\n";
    } else {
        const std::vector<Series> loss{{"train", "#1f77b4", false, &rows, trainLoss}, {"test", "#d62728", false, &rows, testLoss}};
        const std::vector<Series> accuracy{{"train", "#1f77b4", false, &rows, trainAccuracy},
                                           {"test", "#d62728", false, &rows, testAccuracy}};
        panel(svg, "loss", loss, lossAxisTop({&rows}), kLeft, kTop, kPanelW, kPanelH, true);
        panel(svg, "accuracy (%)", accuracy, 100, kLeft + kPanelW + kGap, kTop, kPanelW, kPanelH, true);
    }
    svg << "</svg>\n";
    return svg.str();
}

std::string comparisonSvg(const std::vector<LabelledRun>& runs, const std::string& title) {
    static const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    std::vector<Series> loss, accuracy;
    std::vector<const std::vector<EpochMetrics>*> drawn;
    std::vector<std::pair<std::string, const char*>> legend;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const char* color = kColors[i % std::size(kColors)];
        legend.emplace_back(runs[i].label + (runs[i].rows.empty() ? " (no epoch finished)" : ""), color);
        if (runs[i].rows.empty()) continue;
        const auto* rows = &runs[i].rows;
        drawn.push_back(rows);
        loss.push_back({runs[i].label + " train", color, true, rows, trainLoss});
        loss.push_back({runs[i].label + " test", color, false, rows, testLoss});
        accuracy.push_back({runs[i].label + " train", color, true, rows, trainAccuracy});
        accuracy.push_back({runs[i].label + " test", color, false, rows, testAccuracy});
    }
    const double legendTop = kTop + kPanelH + 56, height = legendTop + 16 * (runs.size() + 1) + 12;
    std::ostringstream svg;
    svg << svgStart(kWidth, height, title);
    if (drawn.empty()) {
        svg << "<text x='" << kWidth / 2 << "' y='" << kTop + kPanelH / 2 << "' text-anchor='middle'>no epoch finished yet</text>\n";
    } else {
        panel(svg, "loss", loss, lossAxisTop(drawn), kLeft, kTop, kPanelW, kPanelH, false);
        panel(svg, "accuracy (%)", accuracy, 100, kLeft + kPanelW + kGap, kTop, kPanelW, kPanelH, false);
    }
    svg << "<text x='" << kLeft << "' y='" << legendTop << "'>solid: test, dashed: train</text>\n";
    for (std::size_t i = 0; i < legend.size(); ++i)
        svg << "<text class='legend' x='" << kLeft << "' y='" << legendTop + 16 * (i + 1) << "' fill='" << legend[i].second
            << "'>" << escaped(legend[i].first) << "</text>\n";
    svg << "</svg>\n";
    return svg.str();
}

void writeCurves(const fs::path& csv, const fs::path& svg, const std::string& title) {
    replaceFile(svg, curvesSvg(readMetrics(csv), title));
}

}  // namespace revnet::training
