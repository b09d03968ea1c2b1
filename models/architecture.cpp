#include "revnet/models/architecture.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
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
        // The paper's ImageNet RevNets, as the authors' configurations give them.
        {"revnet-54", Family::RevNet, Block::Bottleneck, {2, 2, 3, 2}, {128, 128, 256, 512, 832}, Stem::ImageNet},
        {"revnet-104", Family::RevNet, Block::Bottleneck, {2, 2, 11, 2}, {128, 128, 256, 512, 832}, Stem::ImageNet},
        // torchvision's ResNet-50 and ResNet-101 (v1.5: the stride on the 3x3 convolution).
        {"resnet-50", Family::ResNet, Block::Bottleneck, {3, 4, 6, 3}, {64, 64, 128, 256, 512}, Stem::ImageNet,
         Activation::Post},
        {"resnet-101", Family::ResNet, Block::Bottleneck, {3, 4, 23, 3}, {64, 64, 128, 256, 512}, Stem::ImageNet,
         Activation::Post},
    };
    return models;
}

namespace {

std::string lowerCase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// "2-2-11-2" as numbers from 1 to `most`; `what` names the part for the error.
std::vector<uint32_t> numberList(const std::string& text, uint32_t most, const std::string& what) {
    std::vector<uint32_t> out;
    const char* at = text.data();
    const char* end = text.data() + text.size();
    while (true) {
        uint32_t value = 0;
        const auto [next, error] = std::from_chars(at, end, value);
        if (error != std::errc() || next == at || value < 1 || value > most)
            throw std::invalid_argument(what + ": '" + text + "' is not a list of whole numbers from 1 to " +
                                        std::to_string(most) + " joined by '-'");
        out.push_back(value);
        if (next == end) return out;
        if (*next != '-') throw std::invalid_argument(what + ": unexpected '" + std::string(1, *next) + "' in '" + text + "'");
        at = next + 1;
    }
}

}  // namespace

ModelSpec parseModelSpec(const std::string& text) {
    const std::string lower = lowerCase(text);
    const auto colon = lower.find(':');
    const std::string family = lower.substr(0, colon);
    const std::string context = "model spec '" + text + "'";
    if (colon == std::string::npos || (family != "revnet" && family != "resnet"))
        throw std::invalid_argument(context + ": it starts with 'revnet:' or 'resnet:'");
    ModelSpec spec{lower, family == "revnet" ? Family::RevNet : Family::ResNet, Block::Basic, {}, {}};
    std::stringstream fields(lower.substr(colon + 1));
    bool blockSeen = false, stemSeen = false, activationSeen = false;
    for (std::string field; std::getline(fields, field, ',');) {
        const auto equals = field.find('=');
        const std::string key = field.substr(0, equals), value = equals == std::string::npos ? "" : field.substr(equals + 1);
        if (equals == std::string::npos || value.empty())
            throw std::invalid_argument(context + ": '" + field + "' is not key=value");
        const bool repeated = (key == "units" && !spec.units.empty()) || (key == "channels" && !spec.channels.empty()) ||
                              (key == "block" && blockSeen) || (key == "stem" && stemSeen) ||
                              (key == "activation" && activationSeen);
        if (repeated) throw std::invalid_argument(context + ": " + key + " is given twice");
        if (key == "units") {
            spec.units = numberList(value, 1000, context + ": units");
        } else if (key == "channels") {
            spec.channels = numberList(value, 4096, context + ": channels");
        } else if (key == "block") {
            if (value != "basic" && value != "bottleneck")
                throw std::invalid_argument(context + ": block is basic or bottleneck, not '" + value + "'");
            spec.block = value == "basic" ? Block::Basic : Block::Bottleneck;
            blockSeen = true;
        } else if (key == "stem") {
            if (value != "cifar" && value != "imagenet")
                throw std::invalid_argument(context + ": stem is cifar or imagenet, not '" + value + "'");
            spec.stem = value == "cifar" ? Stem::Cifar : Stem::ImageNet;
            stemSeen = true;
        } else if (key == "activation") {
            if (value != "pre" && value != "post")
                throw std::invalid_argument(context + ": activation is pre or post, not '" + value + "'");
            if (value == "post" && spec.family == Family::RevNet)
                throw std::invalid_argument(context + ": activation=post is for ResNets; RevNets are pre-activation");
            spec.activation = value == "pre" ? Activation::Pre : Activation::Post;
            activationSeen = true;
        } else {
            throw std::invalid_argument(context + ": unknown key '" + key +
                                        "' (known: units, channels, block, stem, activation)");
        }
    }
    if (spec.units.empty() || spec.channels.empty())
        throw std::invalid_argument(context + ": units and channels are both needed, as in "
                                    "revnet:units=3-3-3,channels=32-32-64-112");
    if (spec.units.size() > 8) throw std::invalid_argument(context + ": units: more than 8 stages");
    if (spec.channels.size() != spec.units.size() + 1)
        throw std::invalid_argument(context + ": channels: " + std::to_string(spec.units.size()) + " stages need " +
                                    std::to_string(spec.units.size() + 1) + " channel counts (the stem's first), not " +
                                    std::to_string(spec.channels.size()));
    return spec;
}

ModelSpec modelByName(const std::string& name) {
    if (name.find(':') != std::string::npos) return parseModelSpec(name);
    const std::string lower = lowerCase(name);
    for (const auto& m : catalog())
        if (m.name == lower) return m;
    std::string known;
    for (const auto& m : catalog()) known += (known.empty() ? "" : ", ") + m.name;
    throw std::invalid_argument("unknown model '" + name + "'; known: " + known +
                                ", or a spec such as revnet:units=3-3-3,channels=32-32-64-112");
}

std::string joined(const std::vector<uint32_t>& numbers, char separator) {
    std::string out;
    for (uint32_t n : numbers) out += (out.empty() ? "" : std::string(1, separator)) + std::to_string(n);
    return out;
}

namespace {

// The residual function of a unit: basic (two 3x3 convs) or bottleneck (1x1, 3x3, 1x1 at a
// quarter of the width). Pre-activation: the stride is on the first conv, and the network's
// first unit has no leading batch norm (the stem just applied one). Post-activation: no function
// has one (its input is a ReLU's output), the stride is on the 3x3 conv, and a batch norm ends it.
FunctionSpec residualFunction(std::string prefix, Block block, uint32_t in, uint32_t out, uint32_t stride,
                              bool firstOfNetwork, Activation activation) {
    const bool post = activation == Activation::Post, leading = !firstOfNetwork && !post;
    FunctionSpec f{std::move(prefix), {}, post};
    if (block == Block::Basic) {
        f.steps = {{leading, {in, out, 3, stride}}, {true, {out, out, 3, 1}}};
    } else {
        const uint32_t mid = out / 4;
        const uint32_t first = post ? 1 : stride, middle = post ? stride : 1;
        f.steps = {{leading, {in, mid, 1, first}}, {true, {mid, mid, 3, middle}}, {true, {mid, out, 1, 1}}};
    }
    return f;
}

}  // namespace

Architecture expand(const ModelSpec& spec, uint32_t inChannels, uint32_t height, uint32_t width, uint32_t classes) {
    if (spec.units.empty() || spec.channels.size() != spec.units.size() + 1)
        throw std::invalid_argument(spec.name + ": one channel count per stage and the stem's");
    const bool imagenet = spec.stem == Stem::ImageNet;
    const uint32_t strided = uint32_t(spec.units.size() - 1), reduction = (imagenet ? 4u : 1u) << strided;
    if (height % reduction || width % reduction || height == 0 || width == 0)
        throw std::invalid_argument("input size " + std::to_string(height) + "x" + std::to_string(width) +
                                    " is not divisible by " + std::to_string(reduction) + ", which " + spec.name +
                                    "'s " + (imagenet ? "ImageNet stem and " : "") + std::to_string(strided) +
                                    " strided stages need");
    if (inChannels == 0 || classes == 0) throw std::invalid_argument("a model needs input channels and classes");
    if (spec.activation == Activation::Post && spec.family == Family::RevNet)
        throw std::invalid_argument(spec.name + ": RevNets are pre-activation");
    const bool rev = spec.family == Family::RevNet;
    const uint32_t widen = spec.block == Block::Bottleneck ? 4 : 1;
    const ConvSpec stem = imagenet ? ConvSpec{inChannels, spec.channels[0], 7, 2} : ConvSpec{inChannels, spec.channels[0], 3, 1};
    const uint32_t stemHeight = height / stem.stride, stemWidth = width / stem.stride;
    Architecture a{spec, inChannels, height, width, classes, stem, stemHeight, stemWidth, {}, 0, 0, 0};
    uint32_t channels = spec.channels[0], h = imagenet ? stemHeight / 2 : height, w = imagenet ? stemWidth / 2 : width;
    bool firstOfNetwork = true;
    for (uint32_t stage = 0; stage < spec.units.size(); ++stage) {
        const uint32_t outChannels = spec.channels[stage + 1] * widen;
        if (rev && (outChannels % 2 || channels % 2))
            throw std::invalid_argument(spec.name + ": a RevNet needs even channel counts");
        if (rev && spec.block == Block::Bottleneck && spec.channels[stage + 1] % 2)
            throw std::invalid_argument(spec.name + ": a bottleneck RevNet needs even stage channel counts (each half's "
                                        "bottleneck is half of one)");
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
            const bool post = spec.activation == Activation::Post;
            unit.shortcut = !changes ? Shortcut::Identity
                            : spec.block == Block::Bottleneck || post ? Shortcut::Projection
                                                                      : Shortcut::PoolPad;
            unit.projectionNorm = post && unit.shortcut == Shortcut::Projection;
            const uint32_t div = rev ? 2 : 1;  // a RevNet's F and G each see half the channels
            unit.f = residualFunction(unit.prefix + ".F", spec.block, unit.inChannels / div, outChannels / div,
                                      unit.stride, firstOfNetwork, spec.activation);
            if (rev)
                unit.g = residualFunction(unit.prefix + ".G", spec.block, outChannels / 2, outChannels / 2, 1, false,
                                          spec.activation);
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

void addNorm(std::vector<ParameterSpec>& out, const std::string& prefix, uint32_t channels) {
    out.push_back({prefix + ".weight", {1, 1, 1, channels}, ParameterKind::NormScale});
    out.push_back({prefix + ".bias", {1, 1, 1, channels}, ParameterKind::NormShift});
}

void addFunction(std::vector<ParameterSpec>& out, const FunctionSpec& f) {
    for (std::size_t i = 0; i < f.steps.size(); ++i) {
        const auto& s = f.steps[i];
        if (s.bn) addNorm(out, f.normName(i), s.conv.in);
        out.push_back({f.prefix + ".conv" + std::to_string(i + 1) + ".weight",
                       {s.conv.out, s.conv.in, s.conv.kernel, s.conv.kernel}, ParameterKind::Convolution});
    }
    if (f.outputNorm) addNorm(out, f.outputNormName(), f.steps.back().conv.out);
}

}  // namespace

std::vector<ParameterSpec> Architecture::parameters() const {
    std::vector<ParameterSpec> out;
    out.push_back({"stem.conv.weight", {stem.out, stem.in, stem.kernel, stem.kernel}, ParameterKind::Convolution});
    addNorm(out, "stem.bn", stem.out);
    const bool rev = spec.family == Family::RevNet;
    for (const auto& u : units) {
        addFunction(out, u.f);
        if (rev) addFunction(out, u.g);
        if (u.shortcut != Shortcut::Projection) continue;
        const uint32_t div = rev ? 2 : 1;
        const std::array<uint32_t, 4> shape{u.outChannels / div, u.inChannels / div, 1, 1};
        if (rev) {  // one projection for each half
            out.push_back({u.prefix + ".shortcut1.weight", shape, ParameterKind::Convolution});
            out.push_back({u.prefix + ".shortcut2.weight", shape, ParameterKind::Convolution});
        } else {
            out.push_back({u.prefix + ".shortcut.weight", shape, ParameterKind::Convolution});
            if (u.projectionNorm) addNorm(out, u.prefix + ".shortcut.bn", u.outChannels);
        }
    }
    if (headNorm()) addNorm(out, "head.bn", topChannels);
    out.push_back({"head.fc.weight", {classes, topChannels, 1, 1}, ParameterKind::Classifier});
    out.push_back({"head.fc.bias", {1, 1, 1, classes}, ParameterKind::ClassifierBias});
    return out;
}

std::string FunctionSpec::normName(std::size_t step) const {
    return prefix + ".bn" + std::to_string(outputNorm ? step : step + 1);
}

std::string Architecture::stateName(const std::string& name) const {
    if (!postActivation()) return name;
    // `from` as the whole name or the part before a '.', replaced by `to`.
    auto replaced = [&](const std::string& from, const std::string& to) -> std::optional<std::string> {
        if (!name.starts_with(from) || (name.size() > from.size() && name[from.size()] != '.')) return std::nullopt;
        return to + name.substr(from.size());
    };
    for (const auto& [from, to] : {std::pair{"stem.conv", "conv1"}, {"stem.bn", "bn1"}, {"head.fc", "fc"}})
        if (auto out = replaced(from, to)) return *out;
    for (const auto& u : units) {
        const std::string layer = "layer" + std::to_string(u.stage + 1) + "." + std::to_string(u.index);
        for (const auto& [from, to] : {std::pair{".F", ""}, {".shortcut.bn", ".downsample.1"}, {".shortcut", ".downsample.0"}})
            if (auto out = replaced(u.prefix + from, layer + to)) return *out;
    }
    return name;
}

std::vector<uint32_t> ParameterSpec::torchShape() const {
    switch (kind) {
        case ParameterKind::Convolution: return {shape.begin(), shape.end()};
        case ParameterKind::Classifier: return {shape[0], shape[1]};
        default: return {uint32_t(elements())};  // vectors
    }
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
            if (f.steps[i].bn) out.push_back({f.normName(i), f.steps[i].conv.in});
        if (f.outputNorm) out.push_back({f.outputNormName(), f.steps.back().conv.out});
    };
    for (const auto& u : units) {
        add(u.f);
        if (!u.g.steps.empty()) add(u.g);
        if (u.projectionNorm) out.push_back({u.prefix + ".shortcut.bn", u.outChannels});
    }
    if (headNorm()) out.push_back({"head.bn", topChannels});
    return out;
}

std::string Architecture::describe() const {
    std::ostringstream s;
    const char* shortcutNames[] = {"identity", "avg pool 2x2 + zero channels", "1x1 conv projection"};
    s << spec.name << ": " << (spec.family == Family::RevNet ? "RevNet" : "ResNet") << ", "
      << (spec.block == Block::Basic ? "basic" : "bottleneck") << " units " << joined(spec.units) << ", input " << inChannels << "x" << height << "x" << width << ", " << classes
      << " classes\n";
    s << "  stem        conv " << stem.kernel << "x" << stem.kernel << (stem.stride > 1 ? "/2 " : " ") << stem.in << "->"
      << stem.out << ", bn, relu" << (stemPool() ? ", max pool 3x3/2    " : "    ") << units.front().inSize << "x"
      << units.front().inWidth << "\n";
    for (const auto& u : units) {
        s << "  " << u.prefix << "  " << u.inChannels << "->" << u.outChannels << " stride " << u.stride << ", "
          << u.outSize << "x" << u.outWidth << ", shortcut " << shortcutNames[int(u.shortcut)]
          << (u.projectionNorm ? " + bn" : "") << (postActivation() ? ", relu after the sum" : "")
          << (spec.family == Family::RevNet ? (u.reversible ? ", reversible" : ", input kept") : "") << "\n";
        for (const FunctionSpec* f : {&u.f, &u.g}) {
            if (f->steps.empty()) continue;
            s << "      " << f->prefix.substr(f->prefix.rfind('.') + 1) << ":";
            for (const auto& st : f->steps)
                s << (st.bn ? " bn-relu," : "") << " conv " << st.conv.kernel << "x" << st.conv.kernel << " "
                  << st.conv.in << "->" << st.conv.out << (st.conv.stride > 1 ? " /2" : "") << ";";
            s << (f->outputNorm ? " bn\n" : "\n");
        }
    }
    s << "  head        " << (headNorm() ? "bn, relu, " : "") << "global avg pool, fc " << topChannels << "->" << classes << "\n";
    s << "  parameters  " << parameterCount() << "\n";
    return s.str();
}

}  // namespace revnet::models
