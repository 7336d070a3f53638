// Byte sizes as people type them: "123", "10K", "500M", "0.1G", "2T" (binary units, K = 1024).
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

inline constexpr std::uint64_t unlimited_bytes = std::numeric_limits<std::uint64_t>::max();

// Accepts digits with an optional fraction and an optional unit K/M/G/T (case-insensitive, with or
// without a trailing "B" or "iB"), or "unlimited". Rounds down to whole bytes. nullopt when malformed,
// negative or overflowing.
std::optional<std::uint64_t> parse_size(std::string_view text);

// "512 B", "1.5 KiB", "100.0 MiB", "unlimited".
std::string format_size(std::uint64_t bytes);

}  // namespace ferry
