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

// For log lines, never in scientific notation: milliseconds, "0.055 ms", "5.47 ms", "54.7 ms",
// "547 ms", "12034 ms".
std::string format_millis(double seconds);
// Decimal units as network rates are read: "340 B/s", "12.4 kB/s", "2549 MB/s"; "-" without time.
std::string format_rate(std::uint64_t bytes, double seconds);

}  // namespace ferry
