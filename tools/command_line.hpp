// A small parser for `revnet <command> [--option value] [--flag]`: each command takes the options
// it knows and finish() rejects whatever is left, so a misspelt option is an error, not ignored.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace revnet::cli {

// The largest batch and class count the commands take: past them, plans and buffers stop making sense.
constexpr std::uint32_t kMaxBatch = 1u << 20;
constexpr std::uint32_t kMaxClasses = 1u << 20;

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Arguments {
public:
    explicit Arguments(std::vector<std::string> words) : words_(std::move(words)) {}

    // --name value or --name=value
    std::optional<std::string> option(std::string_view name);
    // A whole number up to `most` (UsageError past it: nothing wraps).
    std::uint64_t count(std::string_view name, std::uint64_t fallback,
                        std::uint64_t most = std::numeric_limits<std::uint64_t>::max());
    // A finite number in [least, most] (UsageError for NaN, inf or out of range).
    double real(std::string_view name, double fallback, double least = -std::numeric_limits<double>::max(),
                double most = std::numeric_limits<double>::max());
    bool flag(std::string_view name);
    // Takes a plain word (a sub-command such as `kernels`) if it is there.
    bool word(std::string_view word);
    bool help() { return flag("help") || flag("h"); }
    // Takes the plain words left (model names): call after every option has been taken.
    std::vector<std::string> rest();
    void finish() const;

private:
    std::vector<std::string> words_;
};

// A whole number up to `most`, or nullopt (no sign, no spaces, nothing after it).
std::optional<std::uint64_t> parseCount(std::string_view text, std::uint64_t most);
// A finite number, or nullopt.
std::optional<double> parseReal(std::string_view text);

// "3x32x32" -> channels, height, width
struct ImageShape {
    uint32_t c, h, w;
};
ImageShape parseImageShape(const std::string& text, const char* option);

// "512MiB", "2GiB", "1000000" -> bytes; UsageError naming `option` past 2^64 bytes or malformed.
std::uint64_t parseBytes(std::string_view text, std::string_view option = "--budget");

}  // namespace revnet::cli
