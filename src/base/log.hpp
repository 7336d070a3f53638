// One-line, thread-safe logging to stderr or a file. Callers build the line with cat().
#pragma once
#include <sstream>
#include <string>
#include <string_view>

namespace ferry {

enum class LogLevel { debug, info, warn, error };

// Concatenate anything streamable: cat("user=", name, " bytes=", n).
template <class... Args>
std::string cat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

namespace log {
// Where lines go: "" or "-" = stderr. Returns false (and keeps stderr) when the file can't be opened.
bool open(const std::string& path);
void set_min_level(LogLevel level);
void write(LogLevel level, std::string_view line);
inline void debug(std::string_view l) { write(LogLevel::debug, l); }
inline void info(std::string_view l) { write(LogLevel::info, l); }
inline void warn(std::string_view l) { write(LogLevel::warn, l); }
inline void error(std::string_view l) { write(LogLevel::error, l); }
}  // namespace log

}  // namespace ferry
