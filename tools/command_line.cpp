#include "tools/command_line.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>
#include <cstdio>

namespace revnet::cli {

std::optional<std::string> Arguments::option(std::string_view name) {
    const std::string dashed = (name.size() == 1 ? "-" : "--") + std::string(name);
    for (std::size_t i = 0; i < words_.size(); ++i) {
        const std::string& w = words_[i];
        if (w == dashed) {
            if (i + 1 >= words_.size()) throw UsageError(dashed + " needs a value");
            std::string value = words_[i + 1];
            words_.erase(words_.begin() + i, words_.begin() + i + 2);
            return value;
        }
        if (w.rfind(dashed + "=", 0) == 0) {
            std::string value = w.substr(dashed.size() + 1);
            words_.erase(words_.begin() + i);
            return value;
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> parseCount(std::string_view text, std::uint64_t most) {
    std::uint64_t n = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || n > most) return std::nullopt;
    return n;
}

std::optional<double> parseReal(std::string_view text) {
    double x = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), x);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || !std::isfinite(x)) return std::nullopt;
    return x;
}

std::uint64_t Arguments::count(std::string_view name, std::uint64_t fallback, std::uint64_t most) {
    const auto value = option(name);
    if (!value) return fallback;
    if (const auto n = parseCount(*value, most)) return *n;
    throw UsageError("--" + std::string(name) + " takes a whole number up to " + std::to_string(most) + ", not '" +
                     *value + "'");
}

double Arguments::real(std::string_view name, double fallback, double least, double most) {
    const auto value = option(name);
    if (!value) return fallback;
    const auto x = parseReal(*value);
    if (x && *x >= least && *x <= most) return *x;
    std::ostringstream range;
    if (least > -std::numeric_limits<double>::max()) range << " from " << least;
    if (most < std::numeric_limits<double>::max()) range << " up to " << most;
    throw UsageError("--" + std::string(name) + " takes a finite number" + range.str() + ", not '" + *value + "'");
}

bool Arguments::flag(std::string_view name) { return word((name.size() == 1 ? "-" : "--") + std::string(name)); }

bool Arguments::word(std::string_view word) {
    for (std::size_t i = 0; i < words_.size(); ++i)
        if (words_[i] == word) {
            words_.erase(words_.begin() + i);
            return true;
        }
    return false;
}

std::vector<std::string> Arguments::rest() {
    std::vector<std::string> plain, options;
    for (auto& w : words_) (w.rfind("-", 0) == 0 ? options : plain).push_back(std::move(w));
    words_ = std::move(options);
    return plain;
}

void Arguments::finish() const {
    if (!words_.empty()) throw UsageError("unexpected argument '" + words_.front() + "'");
}

ImageShape parseImageShape(const std::string& text, const char* option) {
    ImageShape s{};
    char x1 = 0, x2 = 0;
    if (std::sscanf(text.c_str(), "%u%c%u%c%u", &s.c, &x1, &s.h, &x2, &s.w) != 5 || x1 != 'x' || x2 != 'x' || !s.c ||
        !s.h || !s.w)
        throw UsageError(std::string(option) + " takes CxHxW, for example 3x32x32, not '" + text + "'");
    return s;
}

std::uint64_t parseBytes(std::string_view text, std::string_view option) {
    std::size_t digits = 0;
    while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
        ++digits;
    const auto value = parseReal(text.substr(0, digits));
    const std::string problem = std::string(option) + ": '" + std::string(text) + "' ";
    if (!value) throw UsageError(problem + "is not a size (try 512MiB or 2GiB)");
    const std::string unit(text.substr(digits));
    double scale = 0;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "KiB" || unit == "K") scale = 1024.0;
    else if (unit == "MiB" || unit == "M") scale = 1024.0 * 1024;
    else if (unit == "GiB" || unit == "G") scale = 1024.0 * 1024 * 1024;
    else if (unit == "TiB" || unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
    else if (unit == "KB") scale = 1e3;
    else if (unit == "MB") scale = 1e6;
    else if (unit == "GB") scale = 1e9;
    else if (unit == "TB") scale = 1e12;
    else throw UsageError(problem + "has an unknown unit (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)");
    // 2^64 itself is not representable: converting it to an integer is undefined.
    if (*value * scale >= 18446744073709551616.0) throw UsageError(problem + "is 2^64 bytes or more");
    return static_cast<std::uint64_t>(*value * scale);
}

}  // namespace revnet::cli
