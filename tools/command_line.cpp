#include "tools/command_line.hpp"

#include <cctype>
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

std::uint64_t Arguments::count(std::string_view name, std::uint64_t fallback) {
    const auto value = option(name);
    if (!value) return fallback;
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(*value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value->size() || (*value)[0] == '-')
        throw UsageError("--" + std::string(name) + " takes a whole number, not '" + *value + "'");
    return n;
}

double Arguments::real(std::string_view name, double fallback) {
    const auto value = option(name);
    if (!value) return fallback;
    std::size_t used = 0;
    double x = 0;
    try {
        x = std::stod(*value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value->size()) throw UsageError("--" + std::string(name) + " takes a number, not '" + *value + "'");
    return x;
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

std::uint64_t parseBytes(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
        ++digits;
    if (digits == 0) throw UsageError("'" + std::string(text) + "' is not a size (try 512MiB or 2GiB)");
    const double value = std::stod(std::string(text.substr(0, digits)));
    const std::string unit(text.substr(digits));
    double scale = 0;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "KiB" || unit == "K") scale = 1024.0;
    else if (unit == "MiB" || unit == "M") scale = 1024.0 * 1024;
    else if (unit == "GiB" || unit == "G") scale = 1024.0 * 1024 * 1024;
    else if (unit == "KB") scale = 1e3;
    else if (unit == "MB") scale = 1e6;
    else if (unit == "GB") scale = 1e9;
    else throw UsageError("unknown size unit '" + unit + "' (use B, KiB, MiB, GiB, KB, MB or GB)");
    return static_cast<std::uint64_t>(value * scale);
}

}  // namespace revnet::cli
