// A small parser for `revnet <command> [--option value] [--flag]`: each command takes the options
// it knows and finish() rejects whatever is left, so a misspelt option is an error, not ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace revnet::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Arguments {
public:
    explicit Arguments(std::vector<std::string> words) : words_(std::move(words)) {}

    // --name value or --name=value
    std::optional<std::string> option(std::string_view name);
    std::uint64_t count(std::string_view name, std::uint64_t fallback);
    double real(std::string_view name, double fallback);
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

// "3x32x32" -> channels, height, width
struct ImageShape {
    uint32_t c, h, w;
};
ImageShape parseImageShape(const std::string& text, const char* option);

// "512MiB", "2GiB", "1000000" -> bytes
std::uint64_t parseBytes(std::string_view text);

}  // namespace revnet::cli
