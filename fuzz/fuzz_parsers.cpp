// libFuzzer target: every parser of text a user types: sizes, whole and real numbers, image
// shapes, synthetic data specifications and REVNET_LIMITS. Each returns a value in its range or
// refuses with its own error; nothing else may escape.
#include "revnet/datasets/data_source.hpp"
#include "revnet/engine/limit_overrides.hpp"
#include "tools/command_line.hpp"

#include <cmath>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace revnet;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)cli::parseBytes(text);
    } catch (const cli::UsageError&) {
    }
    if (const auto n = cli::parseCount(text, 1000); n && *n > 1000) __builtin_trap();
    if (const auto x = cli::parseReal(text); x && !std::isfinite(*x)) __builtin_trap();
    try {
        const auto shape = cli::parseImageShape(text, "--shape");
        if (!shape.c || !shape.h || !shape.w) __builtin_trap();
    } catch (const cli::UsageError&) {
    }
    if (const auto spec = datasets::parseSynthetic(text);
        spec && (uint64_t(spec->channels) * spec->height * spec->width > (1u << 20) || spec->images == 0 ||
                 uint64_t(spec->channels) * spec->height * spec->width * spec->images > (uint64_t(1) << 33)))
        __builtin_trap();
    try {
        (void)LimitOverrides::parse(text);
    } catch (const std::invalid_argument&) {
    }
    try {
        cli::Arguments args({"--lr", text, "--epochs", text});
        (void)args.real("lr", 0.1, 0.0, 1.0);
        (void)args.count("epochs", 1, 100);
    } catch (const cli::UsageError&) {
    }
    return 0;
}
