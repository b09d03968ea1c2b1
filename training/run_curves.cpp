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
    return {values[1], values[3], values[4], values[5], values[6]};
}

// One panel: two curves (each a value of a row) in a box at (x0, y0) of size w x h.
struct Curve {
    const char* label;
    const char* color;
    double (*value)(const EpochMetrics&);
};

void panel(std::ostream& svg, const std::vector<EpochMetrics>& rows, const char* name, const Curve (&curves)[2],
           double yMax, double x0, double y0, double w, double h) {
    const double firstEpoch = rows.front().epoch, lastEpoch = std::max(rows.back().epoch, firstEpoch + 1);
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
    for (std::size_t c = 0; c < 2; ++c) {
        const Curve& curve = curves[c];
        svg << "<polyline class='curve' fill='none' stroke='" << curve.color << "' stroke-width='2' points='";
        for (const auto& r : rows) svg << x(r.epoch) << ',' << y(curve.value(r)) << ' ';
        svg << "'><title>" << curve.label << "</title></polyline>\n"
            << "<text x='" << x0 + w - 8 << "' y='" << y0 + 16 + 16 * c << "' text-anchor='end' fill='" << curve.color
            << "'>" << curve.label << "</text>\n";
    }
}

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
    std::ostringstream svg;
    const double width = 760, height = 340, top = 60, panelW = 280, panelH = 220;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
        << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n"
        << "<text x='" << width / 2 << "' y='22' text-anchor='middle' font-size='14'>" << escaped(title) << "</text>\n";
    if (rows.empty()) {
        svg << "<text x='" << width / 2 << "' y='" << height / 2 << "' text-anchor='middle'>no epoch finished yet</text>\n";
    } else {
        double lossMax = 0;
        for (const auto& r : rows) lossMax = std::max({lossMax, r.trainLoss, r.testLoss});
        // A round top for the loss axis; a diverged run (inf, NaN) is clipped at the frame.
        const double step = std::isfinite(lossMax) && lossMax > 0 ? std::pow(10.0, std::floor(std::log10(lossMax))) : 1.0;
        const double lossTop = std::isfinite(lossMax) && lossMax > 0 ? std::ceil(lossMax / step) * step : 1.0;
        const Curve loss[2] = {{"train", "#1f77b4", [](const EpochMetrics& r) { return r.trainLoss; }},
                               {"test", "#d62728", [](const EpochMetrics& r) { return r.testLoss; }}};
        const Curve accuracy[2] = {{"train", "#1f77b4", [](const EpochMetrics& r) { return 100 * r.trainAccuracy; }},
                                   {"test", "#d62728", [](const EpochMetrics& r) { return 100 * r.testAccuracy; }}};
        panel(svg, rows, "loss", loss, lossTop, 60, top, panelW, panelH);
        panel(svg, rows, "accuracy (%)", accuracy, 100, 60 + panelW + 90, top, panelW, panelH);
    }
    svg << "</svg>\n";
    return svg.str();
}

void writeCurves(const fs::path& csv, const fs::path& svg, const std::string& title) {
    replaceFile(svg, curvesSvg(readMetrics(csv), title));
}

}  // namespace revnet::training
