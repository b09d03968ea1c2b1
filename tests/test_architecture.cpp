// The model definitions against the paper's parameter counts (10 classes, 3x32x32 inputs), and
// the structure the memory saving relies on: which units are reversible, where shapes change.
#include "models/architecture.hpp"

#include <catch2/catch.hpp>

using namespace revnet::models;

TEST_CASE("the six paper models have the paper's parameter counts", "[models]") {
    const std::pair<const char*, uint64_t> expected[] = {
        {"resnet-32", 464154},  {"resnet-110", 1727962}, {"resnet-164", 1703258},
        {"revnet-38", 464890},  {"revnet-110", 1729194}, {"revnet-164", 1748778},
    };
    for (const auto& [name, count] : expected) {
        INFO(name);
        CHECK(expand(modelByName(name), 3, 32, 32, 10).parameterCount() == count);
    }
}

TEST_CASE("model structure: reversible units, shortcuts, shapes", "[models]") {
    const Architecture a = expand(modelByName("revnet-38"), 1, 28, 28, 10);
    REQUIRE(a.units.size() == 9);
    CHECK(a.units[0].reversible);  // stage 1 neither strides nor widens
    CHECK(a.units[1].reversible);
    CHECK_FALSE(a.units[3].reversible);
    CHECK(a.units[0].shortcut == Shortcut::Identity);
    CHECK(a.units[3].shortcut == Shortcut::PoolPad);
    CHECK(a.units[4].inSize == 14);
    CHECK(a.units[8].outSize == 7);
    CHECK(a.topChannels == 112);
    CHECK_FALSE(a.units[0].f.steps[0].bn);  // the network's first F has no leading batch norm
    CHECK(a.units[0].g.steps[0].bn);
    CHECK(a.units[3].f.steps[0].conv.stride == 2);
    CHECK(a.units[3].f.steps[0].conv.in == 16);
    CHECK(a.units[3].f.steps[0].conv.out == 32);
    const Architecture b = expand(modelByName("revnet-164"), 3, 32, 32, 100);
    CHECK(b.units[0].shortcut == Shortcut::Projection);  // 32 -> 128 channels
    CHECK(b.units[0].f.steps[0].conv.out == 16);         // a quarter of the 64-channel half
    CHECK(b.parameters().back().name == "head.fc.bias");
    CHECK_THROWS_WITH(expand(modelByName("revnet-38"), 3, 30, 30, 10), Catch::Contains("divisible by 4"));
    CHECK_THROWS_WITH(modelByName("revnet-39"), Catch::Contains("revnet-38"));
}
