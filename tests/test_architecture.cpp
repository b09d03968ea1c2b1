// The model definitions against the paper's parameter counts (10 classes, 3x32x32 inputs), and
// the structure the memory saving relies on: which units are reversible, where shapes change.
#include "revnet/models/architecture.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

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

TEST_CASE("model spec strings give any shape: a catalog model's twin, more stages, clear errors", "[models]") {
    // The catalog's RevNet-38 written out is the same network, parameter for parameter.
    const Architecture twin = expand(modelByName("RevNet:units=3-3-3,channels=32-32-64-112"), 3, 32, 32, 10);
    const Architecture known = expand(modelByName("revnet-38"), 3, 32, 32, 10);
    CHECK(twin.parameterCount() == 464890);
    REQUIRE(twin.parameters().size() == known.parameters().size());
    for (std::size_t i = 0; i < known.parameters().size(); ++i) {
        CHECK(twin.parameters()[i].name == known.parameters()[i].name);
        CHECK(twin.parameters()[i].shape == known.parameters()[i].shape);
    }
    CHECK(twin.spec.name == "revnet:units=3-3-3,channels=32-32-64-112");

    // Four bottleneck stages: each after the first halves the size and widens to 4x its channels.
    const Architecture four = expand(modelByName("resnet:units=1-2-1-3,channels=8-8-16-24-32,block=bottleneck"), 3, 40, 24, 7);
    REQUIRE(four.units.size() == 7);
    CHECK(four.units[0].stride == 1);
    CHECK(four.units[0].shortcut == Shortcut::Projection);  // 8 -> 32 channels
    CHECK(four.units[1].stride == 2);
    CHECK(four.units[3].stride == 2);
    CHECK(four.units[4].stride == 2);
    CHECK(four.units[5].stride == 1);
    CHECK(four.units[4].outChannels == 128);
    CHECK(four.topChannels == 128);
    CHECK(four.topHeight == 5);
    CHECK(four.topWidth == 3);
    // Counted by hand: stem 3x3 3->8 + bn; per unit bn-conv1x1 in->c, bn-conv3x3 c->c, bn-conv1x1 c->4c
    // (+ 1x1 in->4c projection where the shape changes), less the first unit's leading bn (the
    // stem's just ran); head bn + fc 128->7.
    auto unit = [](uint64_t in, uint64_t c, bool projection) {
        return 2 * in + in * c + 2 * c + 9 * c * c + 2 * c + c * 4 * c + (projection ? in * 4 * c : 0);
    };
    const uint64_t expected = 9 * 3 * 8 + 2 * 8 + unit(8, 8, true) - 2 * 8 + unit(32, 16, true) + unit(64, 16, false) +
                              unit(64, 24, true) + unit(96, 32, true) + 2 * unit(128, 32, false) + 2 * 128 + 128 * 7 + 7;
    CHECK(four.parameterCount() == expected);
    CHECK_THROWS_WITH(expand(four.spec, 3, 36, 24, 7), Catch::Contains("not divisible by 8"));

    const std::pair<const char*, const char*> bad[] = {
        {"revnet:units=3-3-3", "units and channels are both needed"},
        {"revnet:units=3-x-3,channels=8-8-8-8", "units: '3-x-3' is not a list of whole numbers"},
        {"revnet:units=3-0-3,channels=8-8-8-8", "from 1 to 1000"},
        {"revnet:units=3-3,channels=8-8-8-8", "2 stages need 3 channel counts"},
        {"revnet:units=3-3-3,channels=8-8-8-5000", "channels: '8-8-8-5000'"},
        {"revnet:units=3-3-3,channels=8-8-8-8,block=wide", "block is basic or bottleneck, not 'wide'"},
        {"revnet:units=3-3-3,channels=8-8-8-8,depth=5", "unknown key 'depth'"},
        {"revnet:units=3-3-3,units=3,channels=8-8-8-8", "units is given twice"},
        {"revnet:units=3-3-3,channels", "'channels' is not key=value"},
        {"densenet:units=3", "starts with 'revnet:' or 'resnet:'"},
        {"revnet:units=1-1-1-1-1-1-1-1-1,channels=8-8-8-8-8-8-8-8-8-8", "more than 8 stages"},
        {"revnet:units=3-3-3,channels=8-8-8-8;", "unexpected ';'"},
    };
    for (const auto& [text, message] : bad) {
        INFO(text);
        CHECK_THROWS_WITH(modelByName(text), Catch::Contains(message) && Catch::Contains(text));
    }
    CHECK_THROWS_WITH(expand(modelByName("revnet:units=1-1,channels=8-8-9"), 3, 8, 8, 2), Catch::Contains("even"));
    CHECK_THROWS_WITH(expand(modelByName("revnet:units=1-1,channels=8-8-3,block=bottleneck"), 3, 8, 8, 2),
                      Catch::Contains("even stage channel counts"));
}

TEST_CASE("the paper's ImageNet RevNets: the ImageNet stem, four stages, the authors' widths", "[models]") {
    // The paper gives RevNet-104 45.2M parameters; the authors' configuration (bottleneck units
    // 2-2-11-2, filters 128,128,256,512,832) expands here to 45,428,072 at 1000 classes.
    const Architecture r104 = expand(modelByName("revnet-104"), 3, 224, 224, 1000);
    CHECK(r104.parameterCount() == 45428072);
    CHECK(double(r104.parameterCount()) == Approx(45.2e6).epsilon(0.01));
    CHECK(expand(modelByName("revnet-54"), 3, 224, 224, 1000).parameterCount() == 27553128);
    // 7x7/2 convolution to 112x112, 3x3/2 max pool to 56x56, then 56, 28, 14, 7.
    CHECK(r104.stem.kernel == 7);
    CHECK(r104.stem.stride == 2);
    CHECK(r104.stemHeight == 112);
    CHECK(r104.stemPool());
    CHECK(r104.units.front().inSize == 56);
    CHECK(r104.topHeight == 7);
    CHECK(r104.topChannels == 3328);
    CHECK(r104.parameters().front().shape == std::array<uint32_t, 4>{128, 3, 7, 7});
    // Written as a spec, the same network; the stem is named in it.
    const auto spec = modelByName("revnet:units=2-2-11-2,channels=128-128-256-512-832,block=bottleneck,stem=imagenet");
    CHECK(expand(spec, 3, 224, 224, 1000).parameterCount() == 45428072);
    CHECK_THROWS_WITH(expand(spec, 3, 112, 96, 1000), Catch::Contains("not divisible by 32, which") &&
                                                          Catch::Contains("ImageNet stem and 3 strided stages"));
    CHECK_THROWS_WITH(modelByName("revnet:units=1,channels=8-8,stem=vgg"), Catch::Contains("stem is cifar or imagenet"));
    CHECK(r104.describe().find("conv 7x7/2 3->128, bn, relu, max pool 3x3/2    56x56") != std::string::npos);
}

TEST_CASE("torchvision's ResNet-50 and ResNet-101: counts, unit order and state-dict names", "[models]") {
    // torchvision's counts at 1000 classes.
    const Architecture r50 = expand(modelByName("resnet-50"), 3, 224, 224, 1000);
    CHECK(r50.parameterCount() == 25557032);
    CHECK(expand(modelByName("resnet-101"), 3, 224, 224, 1000).parameterCount() == 44549160);
    // Post-activation: no batch norm before a unit's first convolution, one after its last, the
    // stride on the 3x3 convolution, every first unit of a stage projected (with a batch norm),
    // and no batch norm in the head.
    const UnitSpec& down = r50.units[3];  // stage2.unit0
    CHECK(down.prefix == "stage2.unit0");
    CHECK_FALSE(down.f.steps[0].bn);
    CHECK(down.f.steps[0].conv.stride == 1);
    CHECK(down.f.steps[1].conv.stride == 2);
    CHECK(down.f.outputNorm);
    CHECK(down.shortcut == Shortcut::Projection);
    CHECK(down.projectionNorm);
    CHECK(r50.units[0].shortcut == Shortcut::Projection);  // 64 -> 256 channels at stride 1
    CHECK_FALSE(r50.headNorm());

    // Every checkpoint tensor of a 2-class ResNet-50 has the name and shape of the recorded
    // torchvision state dict, and the two hold the same tensors.
    std::ifstream file(REVNET_TEST_DATA_DIR "/torchvision_resnet50_2classes.txt");
    REQUIRE(file);
    std::map<std::string, std::vector<uint32_t>> recorded;
    for (std::string line; std::getline(file, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string name, shape;
        fields >> name >> shape;
        std::vector<uint32_t> dims;
        std::istringstream parts(shape);
        for (std::string part; std::getline(parts, part, ',');) dims.push_back(uint32_t(std::stoul(part)));
        recorded[name] = dims;
    }
    REQUIRE(recorded.size() == 267);
    const Architecture two = expand(modelByName("resnet-50"), 3, 224, 224, 2);
    std::map<std::string, std::vector<uint32_t>> ours;
    for (const auto& p : two.parameters()) ours[two.stateName(p.name)] = p.torchShape();
    for (const auto& [norm, channels] : two.batchNorms()) {
        ours[two.stateName(norm) + ".running_mean"] = {channels};
        ours[two.stateName(norm) + ".running_var"] = {channels};
    }
    for (const auto& [name, shape] : recorded) {
        INFO(name);
        REQUIRE(ours.count(name));
        CHECK(ours[name] == shape);
    }
    CHECK(ours.size() == recorded.size());
    // The pre-activation models keep their own names.
    const Architecture r32 = expand(modelByName("resnet-32"), 3, 32, 32, 10);
    CHECK(r32.stateName("stage1.unit0.F.conv1.weight") == "stage1.unit0.F.conv1.weight");

    // As a spec string, and the order is the spec's to choose for ResNets only.
    const auto spec = modelByName("resnet:units=3-4-6-3,channels=64-64-128-256-512,block=bottleneck,stem=imagenet,activation=post");
    CHECK(expand(spec, 3, 224, 224, 1000).parameterCount() == 25557032);
    CHECK_THROWS_WITH(modelByName("revnet:units=1,channels=8-8,activation=post"), Catch::Contains("RevNets are pre-activation"));
    CHECK_THROWS_WITH(modelByName("resnet:units=1,channels=8-8,activation=late"), Catch::Contains("activation is pre or post"));
    CHECK(r50.describe().find("F: conv 1x1 256->128; bn-relu, conv 3x3 128->128 /2; bn-relu, conv 1x1 128->512; bn\n") !=
          std::string::npos);
    CHECK(r50.describe().find("head        global avg pool, fc 2048->1000") != std::string::npos);
}
