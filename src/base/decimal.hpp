// Decimal numbers as FTP arguments and replies carry them: the whole text is digits (no sign, no
// spaces, no hex), and the value fits the type.
#pragma once
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace ferry {

template <class Number = std::uint64_t>
std::optional<Number> parse_decimal(std::string_view text) {
    static_assert(std::is_unsigned_v<Number>, "FTP numbers are never negative");
    Number value = 0;
    if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace ferry
