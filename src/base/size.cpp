#include "base/size.hpp"

#include <cctype>
#include <cstdio>

namespace ferry {
namespace {

constexpr std::uint64_t kib = 1024;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

// "", "B", "K", "KB", "KiB" (any case) -> the multiplier; 0 when the unit is unknown.
std::uint64_t unit_multiplier(std::string_view unit) {
    if (unit.empty() || equals_ignoring_case(unit, "b")) return 1;
    std::uint64_t multiplier = 0;
    switch (std::tolower(static_cast<unsigned char>(unit.front()))) {
        case 'k': multiplier = kib; break;
        case 'm': multiplier = kib * kib; break;
        case 'g': multiplier = kib * kib * kib; break;
        case 't': multiplier = kib * kib * kib * kib; break;
        default: return 0;
    }
    std::string_view suffix = unit.substr(1);
    if (suffix.empty() || equals_ignoring_case(suffix, "b") || equals_ignoring_case(suffix, "ib")) return multiplier;
    return 0;
}

std::size_t count_digits(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
    return n;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
    text = trim(text);
    if (equals_ignoring_case(text, "unlimited")) return unlimited_bytes;

    const std::size_t whole_len = count_digits(text);
    if (whole_len == 0) return std::nullopt;  // "", "-1", ".5", "K"
    std::string_view whole = text.substr(0, whole_len);
    std::string_view rest = text.substr(whole_len);

    std::string_view fraction;
    if (!rest.empty() && rest.front() == '.') {
        const std::size_t fraction_len = count_digits(rest.substr(1));
        if (fraction_len == 0) return std::nullopt;  // "1." or "1.K"
        fraction = rest.substr(1, fraction_len);
        rest = rest.substr(1 + fraction_len);
    }
    const std::uint64_t multiplier = unit_multiplier(trim(rest));
    if (multiplier == 0) return std::nullopt;  // "10Q", "1.2.3"

    // Exact integer arithmetic so "0.1G" is 107374182, not whatever a double rounds to.
    using wide = unsigned __int128;
    wide value = 0;
    for (char c : whole) {
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > unlimited_bytes) return std::nullopt;
    }
    value *= multiplier;
    // Digits past the 19th can change the result by far less than a byte; they are ignored.
    std::string_view kept = fraction.substr(0, 19);
    wide numerator = 0;
    wide denominator = 1;
    for (char c : kept) {
        numerator = numerator * 10 + static_cast<unsigned>(c - '0');
        denominator *= 10;
    }
    value += numerator * multiplier / denominator;
    // unlimited_bytes itself is reserved for "no limit": a typed number that large counts as overflow.
    if (value >= unlimited_bytes) return std::nullopt;
    return static_cast<std::uint64_t>(value);
}

std::string format_size(std::uint64_t bytes) {
    if (bytes == unlimited_bytes) return "unlimited";
    if (bytes < kib) return std::to_string(bytes) + " B";
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes) / kib;
    std::size_t unit = 0;
    // 1023.96 KiB would print as "1024.0 KiB": move up a unit before the rounding does.
    while (value >= 1023.95 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    char text[64];
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    return text;
}

std::string format_millis(double seconds) {
    const double ms = seconds * 1000.0;
    char text[48];
    const int decimals = ms >= 100.0 ? 0 : ms >= 10.0 ? 1 : ms >= 1.0 ? 2 : 3;  // never an exponent
    std::snprintf(text, sizeof text, "%.*f ms", decimals, ms > 0 ? ms : 0.0);
    return text;
}

std::string format_rate(std::uint64_t bytes, double seconds) {
    if (!(seconds > 0)) return "-";
    const double rate = static_cast<double>(bytes) / seconds;
    static constexpr const char* units[] = {"B/s", "kB/s", "MB/s", "GB/s"};
    double value = rate;
    std::size_t unit = 0;
    while (value >= 999.5 && unit + 1 < std::size(units)) {
        value /= 1000.0;
        ++unit;
    }
    char text[48];
    std::snprintf(text, sizeof text, value >= 100 || unit == 0 ? "%.0f %s" : "%.3g %s", value, units[unit]);
    return text;
}

}  // namespace ferry
