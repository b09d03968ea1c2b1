#include "models/architecture.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

namespace revnet::models {

const std::vector<ModelSpec>& catalog() {
    static const std::vector<ModelSpec> models = {
        {"resnet-32", Family::ResNet, Block::Basic, {5, 5, 5}, {16, 16, 32, 64}},
        {"resnet-56", Family::ResNet, Block::Basic, {9, 9, 9}, {16, 16, 32, 64}},
        {"resnet-110", Family::ResNet, Block::Basic, {18, 18, 18}, {16, 16, 32, 64}},
        {"resnet-164", Family::ResNet, Block::Bottleneck, {18, 18, 18}, {16, 16, 32, 64}},
        {"resnet-302", Family::ResNet, Block::Basic, {50, 50, 50}, {16, 16, 32, 64}},
        {"revnet-20", Family::RevNet, Block::Basic, {1, 1, 1}, {16, 16, 32, 64}},  // small, for quick runs
        {"revnet-38", Family::RevNet, Block::Basic, {3, 3, 3}, {32, 32, 64, 112}},
        {"revnet-56", Family::RevNet, Block::Basic, {4, 5, 4}, {32, 32, 64, 128}},
        {"revnet-110", Family::RevNet, Block::Basic, {9, 9, 9}, {32, 32, 64, 128}},
        {"revnet-164", Family::RevNet, Block::Bottleneck, {9, 9, 9}, {32, 32, 64, 128}},
        {"revnet-302", Family::RevNet, Block::Basic, {25, 25, 25}, {32, 32, 64, 128}},
    };
    return models;
}

const ModelSpec& modelByName(const std::string& name) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& m : catalog())
        if (m.name == lower) return m;
    std::string known;
    for (const auto& m : catalog()) known += (known.empty() ? "" : ", ") + m.name;
    throw std::invalid_argument("unknown model '" + name + "'; known: " + known);
}

namespace {

// The residual function of a unit: basic (two 3x3 convs) or bottleneck (1x1, 3x3, 1x1 at a
// quarter of the width); the stride is on the first conv; the network's first unit has no
// leading batch norm (the stem just applied one).
FunctionSpec residualFunction(std::string prefix, Block block, uint32_t in, uint32_t out, uint32_t stride,
                              bool firstOfNetwork) {
    FunctionSpec f{std::move(prefix), {}};
    if (block == Block::Basic) {
        f.steps = {{!firstOfNetwork, {in, out, 3, stride}}, {true, {out, out, 3, 1}}};
    } else {
        const uint32_t mid = out / 4;
        f.steps = {{!firstOfNetwork, {in, mid, 1, stride}}, {true, {mid, mid, 3, 1}}, {true, {mid, out, 1, 1}}};
    }
    return f;
}

}  // namespace

Architecture expand(const ModelSpec& spec, uint32_t inChannels, uint32_t height, uint32_t width, uint32_t classes) {
    if (height % 4 || width % 4 || height == 0 || width == 0)
        throw std::invalid_argument("input size " + std::to_string(height) + "x" + std::to_string(width) +
                                    " is not divisible by 4, which the two strided stages need");
    if (inChannels == 0 || classes == 0) throw std::invalid_argument("a model needs input channels and classes");
    const bool rev = spec.family == Family::RevNet;
    const uint32_t widen = spec.block == Block::Bottleneck ? 4 : 1;
    Architecture a{spec, inChannels, height, width, classes, {inChannels, spec.channels[0], 3, 1}, {}, 0, 0, 0};
    uint32_t channels = spec.channels[0], h = height, w = width;
    bool firstOfNetwork = true;
    for (uint32_t stage = 0; stage < 3; ++stage) {
        const uint32_t outChannels = spec.channels[stage + 1] * widen;
        if (rev && (outChannels % 2 || channels % 2))
            throw std::invalid_argument(spec.name + ": a RevNet needs even channel counts");
        for (uint32_t u = 0; u < spec.units[stage]; ++u) {
            UnitSpec unit;
            unit.prefix = "stage" + std::to_string(stage + 1) + ".unit" + std::to_string(u);
            unit.stage = stage;
            unit.index = u;
            unit.inChannels = u == 0 ? channels : outChannels;
            unit.outChannels = outChannels;
            unit.stride = (stage > 0 && u == 0) ? 2 : 1;
            unit.inSize = h;
            unit.inWidth = w;
            unit.outSize = h / unit.stride;
            unit.outWidth = w / unit.stride;
            const bool changes = unit.stride != 1 || unit.inChannels != unit.outChannels;
            unit.shortcut = !changes ? Shortcut::Identity
                            : spec.block == Block::Bottleneck ? Shortcut::Projection
                                                              : Shortcut::PoolPad;
            const uint32_t div = rev ? 2 : 1;  // a RevNet's F and G each see half the channels
            unit.f = residualFunction(unit.prefix + ".F", spec.block, unit.inChannels / div, outChannels / div,
                                      unit.stride, firstOfNetwork);
            if (rev) unit.g = residualFunction(unit.prefix + ".G", spec.block, outChannels / 2, outChannels / 2, 1, false);
            unit.reversible = rev && unit.shortcut == Shortcut::Identity;
            h = unit.outSize;
            w = unit.outWidth;
            a.units.push_back(std::move(unit));
            firstOfNetwork = false;
        }
        channels = outChannels;
    }
    a.topChannels = channels;
    a.topHeight = h;
    a.topWidth = w;
    return a;
}

namespace {

void addFunction(std::vector<ParameterSpec>& out, const FunctionSpec& f) {
    for (std::size_t i = 0; i < f.steps.size(); ++i) {
        const auto& s = f.steps[i];
        const std::string n = std::to_string(i + 1);
        if (s.bn) {
            out.push_back({f.prefix + ".bn" + n + ".weight", {1, 1, 1, s.conv.in}, false});
            out.push_back({f.prefix + ".bn" + n + ".bias", {1, 1, 1, s.conv.in}, false});
        }
        out.push_back({f.prefix + ".conv" + n + ".weight", {s.conv.out, s.conv.in, s.conv.kernel, s.conv.kernel}, true});
    }
}

}  // namespace

std::vector<ParameterSpec> Architecture::parameters() const {
    std::vector<ParameterSpec> out;
    out.push_back({"stem.conv.weight", {stem.out, stem.in, 3, 3}, true});
    out.push_back({"stem.bn.weight", {1, 1, 1, stem.out}, false});
    out.push_back({"stem.bn.bias", {1, 1, 1, stem.out}, false});
    const bool rev = spec.family == Family::RevNet;
    for (const auto& u : units) {
        addFunction(out, u.f);
        if (rev) addFunction(out, u.g);
        if (u.shortcut != Shortcut::Projection) continue;
        const uint32_t div = rev ? 2 : 1;
        const std::array<uint32_t, 4> shape{u.outChannels / div, u.inChannels / div, 1, 1};
        if (rev) {  // one projection for each half
            out.push_back({u.prefix + ".shortcut1.weight", shape, true});
            out.push_back({u.prefix + ".shortcut2.weight", shape, true});
        } else {
            out.push_back({u.prefix + ".shortcut.weight", shape, true});
        }
    }
    out.push_back({"head.bn.weight", {1, 1, 1, topChannels}, false});
    out.push_back({"head.bn.bias", {1, 1, 1, topChannels}, false});
    out.push_back({"head.fc.weight", {classes, topChannels, 1, 1}, true});
    out.push_back({"head.fc.bias", {1, 1, 1, classes}, false});
    return out;
}

uint64_t Architecture::parameterCount() const {
    uint64_t total = 0;
    for (const auto& p : parameters()) total += p.elements();
    return total;
}

std::vector<std::pair<std::string, uint32_t>> Architecture::batchNorms() const {
    std::vector<std::pair<std::string, uint32_t>> out{{"stem.bn", stem.out}};
    auto add = [&](const FunctionSpec& f) {
        for (std::size_t i = 0; i < f.steps.size(); ++i)
            if (f.steps[i].bn) out.push_back({f.prefix + ".bn" + std::to_string(i + 1), f.steps[i].conv.in});
    };
    for (const auto& u : units) {
        add(u.f);
        if (!u.g.steps.empty()) add(u.g);
    }
    out.push_back({"head.bn", topChannels});
    return out;
}

std::string Architecture::describe() const {
    std::ostringstream s;
    const char* shortcutNames[] = {"identity", "avg pool 2x2 + zero channels", "1x1 conv projection"};
    s << spec.name << ": " << (spec.family == Family::RevNet ? "RevNet" : "ResNet") << ", "
      << (spec.block == Block::Basic ? "basic" : "bottleneck") << " units " << spec.units[0] << "-" << spec.units[1]
      << "-" << spec.units[2] << ", input " << inChannels << "x" << height << "x" << width << ", " << classes
      << " classes\n";
    s << "  stem        conv 3x3 " << stem.in << "->" << stem.out << ", bn, relu    " << height << "x" << width << "\n";
    for (const auto& u : units) {
        s << "  " << u.prefix << "  " << u.inChannels << "->" << u.outChannels << " stride " << u.stride << ", "
          << u.outSize << "x" << u.outWidth << ", shortcut " << shortcutNames[int(u.shortcut)]
          << (spec.family == Family::RevNet ? (u.reversible ? ", reversible" : ", input kept") : "") << "\n";
        for (const FunctionSpec* f : {&u.f, &u.g}) {
            if (f->steps.empty()) continue;
            s << "      " << f->prefix.substr(f->prefix.rfind('.') + 1) << ":";
            for (const auto& st : f->steps)
                s << (st.bn ? " bn-relu," : "") << " conv " << st.conv.kernel << "x" << st.conv.kernel << " "
                  << st.conv.in << "->" << st.conv.out << (st.conv.stride > 1 ? " /2" : "") << ";";
            s << "\n";
        }
    }
    s << "  head        bn, relu, global avg pool, fc " << topChannels << "->" << classes << "\n";
    s << "  parameters  " << parameterCount() << "\n";
    return s.str();
}

}  // namespace revnet::models
