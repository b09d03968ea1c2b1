// What a network is, without any device: the paper's model definitions (ModelSpec), and their
// expansion for an input size and class count into stem, units and head with every parameter's
// name and shape. Another depth or width is one more line in the catalog.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace revnet::models {

enum class Family { ResNet, RevNet };
enum class Block { Basic, Bottleneck };
// The CIFAR stem keeps the input's size (3x3 convolution); the ImageNet stem quarters it (7x7
// convolution at stride 2, then 3x3 max pooling at stride 2).
enum class Stem { Cifar, ImageNet };
// Where batch norm and ReLU sit in a unit: before each convolution (pre-activation, He et al.
// 2016, the paper's models), or after each, with a ReLU after the sum (torchvision's ResNets,
// whose units end in a batch norm without ReLU and whose projections have one too). RevNets are
// pre-activation.
enum class Activation { Pre, Post };

struct ModelSpec {
    std::string name;
    Family family;
    Block block;
    std::vector<uint32_t> units;     // per stage: the first keeps the input's size, each later one halves it
    std::vector<uint32_t> channels;  // the stem's, then each stage's (bottleneck units are 4x as wide)
    Stem stem = Stem::Cifar;
    Activation activation = Activation::Pre;
};

// RevNet-38/110/164, ResNet-32/110/164 (the paper's CIFAR configurations), RevNet-54/104 (its
// ImageNet ones), ResNet-50/101 (torchvision's), and more.
const std::vector<ModelSpec>& catalog();
// A catalog name, case-insensitive ("revnet-38"), or a model spec string (parseModelSpec).
// Throws std::invalid_argument listing the catalog, or saying which part of a spec is wrong.
ModelSpec modelByName(const std::string& name);
// "revnet:units=2-2-2,channels=32-32-64-128[,block=basic|bottleneck][,stem=cifar|imagenet]"
// (or "resnet:...", which also takes activation=pre|post): any
// number of stages from 1 to 8 with 1 to 1000 units each, and one channel count more than
// stages (the stem's first), each 1 to 4096. The spec's name is the text, lower-cased.
ModelSpec parseModelSpec(const std::string& text);

// "3-3-3": the numbers joined by `separator`.
std::string joined(const std::vector<uint32_t>& numbers, char separator = '-');

struct ConvSpec {
    uint32_t in, out, kernel, stride;
    uint32_t pad() const { return kernel / 2; }
};

// One step of a residual function: batch norm + ReLU on its input (unless it is the network's
// very first), then a convolution.
struct StepSpec {
    bool bn;
    ConvSpec conv;
};

// A residual function (F or G): its steps; `prefix` names its parameters ("stage2.unit0.F").
// Post-activation functions end in a batch norm without ReLU on the last convolution's output.
struct FunctionSpec {
    std::string prefix;
    std::vector<StepSpec> steps;
    bool outputNorm = false;
    // The batch norm before step i's convolution ("....bn1"): numbered by that step, or, in
    // post-activation functions, by the convolution it follows (torchvision's names).
    std::string normName(std::size_t step) const;
    std::string outputNormName() const { return normName(steps.size()); }
};

// How a unit's input reaches its output beside F (and G): unchanged, 2x2 average pooling with
// zero channels padded around, or a strided 1x1 convolution.
enum class Shortcut { Identity, PoolPad, Projection };

struct UnitSpec {
    std::string prefix;  // "stage2.unit0"
    uint32_t stage, index;
    uint32_t inChannels, outChannels, stride;  // whole unit (a RevNet unit splits them in halves)
    uint32_t inSize, outSize;                  // spatial height (and width, squared inputs aside)
    uint32_t inWidth, outWidth;
    Shortcut shortcut;
    bool projectionNorm;  // a batch norm (no ReLU) after the projection (post-activation)
    FunctionSpec f, g;  // a ResNet unit has only f
    // A RevNet unit is reversible when its shortcut is the identity: all but the first unit of a
    // stage that strides or widens (stage 1 of the basic RevNets neither strides nor widens).
    bool reversible;
};

// What a parameter is, which decides its initialization, whether weight decay applies and its
// shape in a checkpoint.
enum class ParameterKind { Convolution, Classifier, ClassifierBias, NormScale, NormShift };

struct ParameterSpec {
    std::string name;  // "stage1.unit0.F.conv1.weight": its name in checkpoints, not its meaning
    std::array<uint32_t, 4> shape;
    ParameterKind kind;
    // Weight decay applies: convolution and classifier weights.
    bool decay() const { return kind == ParameterKind::Convolution || kind == ParameterKind::Classifier; }
    uint64_t elements() const { return uint64_t{shape[0]} * shape[1] * shape[2] * shape[3]; }
    // The shape PyTorch gives the same tensor, which checkpoints use: convolution weights
    // (O, I, k, k), the classifier's weight (O, I), batch-norm vectors and biases (C).
    std::vector<uint32_t> torchShape() const;
};

struct Architecture {
    ModelSpec spec;
    uint32_t inChannels, height, width, classes;
    ConvSpec stem;
    uint32_t stemHeight, stemWidth;  // the stem convolution's output
    // Under the ImageNet stem the units see the stem's output max-pooled.
    bool stemPool() const { return spec.stem == Stem::ImageNet; }
    bool postActivation() const { return spec.activation == Activation::Post; }
    // Pre-activation networks end in batch norm + ReLU before pooling; post-activation units
    // end in a ReLU already.
    bool headNorm() const { return !postActivation(); }
    std::vector<UnitSpec> units;
    uint32_t topChannels, topHeight, topWidth;

    std::vector<ParameterSpec> parameters() const;
    uint64_t parameterCount() const;
    // Batch-norm layers in order of appearance: (name prefix, channels).
    std::vector<std::pair<std::string, uint32_t>> batchNorms() const;
    std::string describe() const;  // the layer listing of `revnet models`
    // A parameter's or batch norm's name in checkpoints: torchvision's state-dict name for
    // post-activation ResNets ("stage1.unit0.F.conv1.weight" is "layer1.0.conv1.weight"), the
    // name itself for the others.
    std::string stateName(const std::string& name) const;
};

// Spatial sizes must be divisible by 2 for each stage after the first (each strides by 2), and by
// 4 more under the ImageNet stem.
Architecture expand(const ModelSpec& spec, uint32_t inChannels, uint32_t height, uint32_t width, uint32_t classes);

}  // namespace revnet::models
