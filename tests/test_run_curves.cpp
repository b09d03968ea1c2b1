// curves.svg: the chart drawn from metrics.csv has one point per epoch on every curve, placed by
// value, and a malformed metrics file is refused naming the file and line.
#include "tests/test_engine.hpp"
#include "revnet/training/run_curves.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

using namespace revnet::training;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return revnet::test::scratch("curves", name); }

// Each polyline's points as (x, y) pairs, in document order.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg) {
    std::vector<std::vector<std::pair<double, double>>> lines;
    const std::regex polyline("class='curve'[^>]*points='([^']*)'"), point("([-0-9.e]+),([-0-9.e]+)");
    for (std::sregex_iterator it(svg.begin(), svg.end(), polyline), end; it != end; ++it) {
        const std::string points = (*it)[1];
        auto& line = lines.emplace_back();
        for (std::sregex_iterator p(points.begin(), points.end(), point); p != end; ++p)
            line.emplace_back(std::stod((*p)[1]), std::stod((*p)[2]));
    }
    return lines;
}

void writeMetrics(const fs::path& file, const std::vector<EpochMetrics>& rows) {
    std::ofstream out(file);
    out << "step,epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,images_per_second,peak_device_mib\n";
    for (const auto& r : rows)
        out << 100 * r.epoch << ',' << r.epoch << ",0.1," << r.trainLoss << ',' << r.trainAccuracy << ',' << r.testLoss
            << ',' << r.testAccuracy << ",50,12.5\n";
}

}  // namespace

TEST_CASE("curves.svg draws every epoch of metrics.csv, each point placed by its value", "[training]") {
    std::mt19937 rng(std::random_device{}());
    const int epochs = std::uniform_int_distribution<int>(1, 40)(rng);
    std::uniform_real_distribution<double> loss(0.01, 3.0), accuracy(0.0, 1.0);
    std::vector<EpochMetrics> rows;
    for (int e = 1; e <= epochs; ++e) rows.push_back({double(e), loss(rng), accuracy(rng), loss(rng), accuracy(rng)});
    const fs::path csv = scratch("metrics.csv"), svg = scratch("curves.svg");
    writeMetrics(csv, rows);
    writeCurves(csv, svg, "a <run> & its title");
    std::ifstream in(svg);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(epochs << " epochs");
    CHECK(text.find("a &lt;run&gt; &amp; its title") != std::string::npos);
    CHECK_FALSE(fs::exists(scratch("curves.svg.tmp")));

    const auto lines = polylines(text);
    REQUIRE(lines.size() == 4);  // train and test loss, train and test accuracy
    double (*value[4])(const EpochMetrics&) = {[](const EpochMetrics& r) { return r.trainLoss; },
                                               [](const EpochMetrics& r) { return r.testLoss; },
                                               [](const EpochMetrics& r) { return r.trainAccuracy; },
                                               [](const EpochMetrics& r) { return r.testAccuracy; }};
    for (int c = 0; c < 4; ++c) {
        REQUIRE(lines[c].size() == rows.size());
        const bool lossPanel = c < 2;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            // Epochs run left to right, in the same columns on both curves of a panel.
            if (i > 0) CHECK(lines[c][i].first > lines[c][i - 1].first);
            CHECK(lines[c][i].first == Approx(lines[lossPanel ? 0 : 2][i].first));
            // Larger values sit higher (smaller y), across both curves of the panel.
            for (int d : lossPanel ? std::array{0, 1} : std::array{2, 3})
                for (std::size_t j = 0; j < rows.size(); ++j)
                    if (value[c](rows[i]) > value[d](rows[j]) + 1e-3) CHECK(lines[c][i].second < lines[d][j].second);
        }
    }
}

TEST_CASE("curves.svg of a run with no finished epoch says so; a malformed metrics.csv names the file and line",
          "[training]") {
    const fs::path csv = scratch("empty.csv");
    writeMetrics(csv, {});
    CHECK(readMetrics(csv).empty());
    CHECK(curvesSvg({}, "t").find("no epoch finished yet") != std::string::npos);

    const fs::path bad = scratch("bad.csv");
    writeMetrics(bad, {{1, 0.5, 0.5, 0.5, 0.5}});
    std::ofstream(bad, std::ios::app) << "200,2,0.1,0.4,x,0.4,0.6,50,12.5\n";
    CHECK_THROWS_WITH(readMetrics(bad), Catch::Contains("bad.csv line 3") && Catch::Contains("'x' is not a number"));
    std::ofstream(bad, std::ios::trunc) << "step,epoch,lr\n1,2,3\n";
    CHECK_THROWS_WITH(readMetrics(bad), Catch::Contains("line 2: 3 columns, expected 9"));
    std::ofstream(bad, std::ios::trunc) << "not a header\n";
    CHECK_THROWS_WITH(readMetrics(bad), Catch::Contains("not a revnet metrics file"));
    CHECK_THROWS_WITH(readMetrics(scratch("missing.csv")), Catch::Contains("cannot read"));
}

TEST_CASE("a report of several runs draws each run's four curves in its own colour on shared axes", "[training]") {
    std::mt19937 rng(std::random_device{}());
    const int count = std::uniform_int_distribution<int>(2, 5)(rng);
    std::uniform_real_distribution<double> loss(0.01, 3.0), accuracy(0.0, 1.0);
    std::vector<LabelledRun> runs;
    const int emptyRun = std::uniform_int_distribution<int>(0, count)(rng);  // == count: none empty
    for (int i = 0; i < count; ++i) {
        LabelledRun run{"run <" + std::to_string(i) + ">", {}};
        const int epochs = i == emptyRun ? 0 : std::uniform_int_distribution<int>(1, 30)(rng);
        for (int e = 1; e <= epochs; ++e)
            run.rows.push_back({double(e), loss(rng), accuracy(rng), loss(rng), accuracy(rng), 50, 10});
        runs.push_back(run);
    }
    const std::string svg = comparisonSvg(runs, "compared");
    INFO(count << " runs, the empty one " << emptyRun);
    for (int i = 0; i < count; ++i)
        CHECK(svg.find("run &lt;" + std::to_string(i) + "&gt;" + (i == emptyRun ? " (no epoch finished)" : "")) !=
              std::string::npos);

    // Per drawn run: train loss, test loss (left panel), then the accuracies (right panel), in
    // run order; each polyline's colour is its run's.
    const auto lines = polylines(svg);
    const std::regex colour("class='curve' fill='none' stroke='([^']*)'");
    std::vector<std::string> colours;
    for (std::sregex_iterator it(svg.begin(), svg.end(), colour), end; it != end; ++it) colours.push_back((*it)[1]);
    std::vector<const LabelledRun*> drawn;
    for (const auto& run : runs)
        if (!run.rows.empty()) drawn.push_back(&run);
    REQUIRE(lines.size() == 4 * drawn.size());
    REQUIRE(colours.size() == lines.size());
    double (*value[4])(const EpochMetrics&) = {[](const EpochMetrics& r) { return r.trainLoss; },
                                               [](const EpochMetrics& r) { return r.testLoss; },
                                               [](const EpochMetrics& r) { return r.trainAccuracy; },
                                               [](const EpochMetrics& r) { return r.testAccuracy; }};
    auto lineOf = [&](std::size_t run, int curve) {  // index in document order
        return curve < 2 ? 2 * run + curve : 2 * drawn.size() + 2 * run + curve - 2;
    };
    for (std::size_t a = 0; a < drawn.size(); ++a)
        for (int c = 0; c < 4; ++c) {
            const auto& line = lines[lineOf(a, c)];
            REQUIRE(line.size() == drawn[a]->rows.size());
            CHECK(colours[lineOf(a, c)] == colours[lineOf(a, 0)]);
            if (a > 0) CHECK(colours[lineOf(a, c)] != colours[lineOf(a - 1, c)]);
            // Shared axes: across runs, a larger epoch sits further right and a larger value higher.
            for (std::size_t b = 0; b < drawn.size(); ++b)
                for (int d : c < 2 ? std::array{0, 1} : std::array{2, 3})
                    for (std::size_t i = 0; i < line.size(); ++i)
                        for (std::size_t j = 0; j < drawn[b]->rows.size(); ++j) {
                            const auto& other = lines[lineOf(b, d)];
                            if (drawn[a]->rows[i].epoch > drawn[b]->rows[j].epoch) CHECK(line[i].first > other[j].first);
                            if (value[c](drawn[a]->rows[i]) > value[d](drawn[b]->rows[j]) + 1e-3)
                                CHECK(line[i].second < other[j].second);
                        }
        }
}
