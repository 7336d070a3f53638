// One-line, thread-safe logging to stderr or a file. Callers build the line with cat(); one
// writer thread writes it (log.cpp), so logging never waits for the disk.
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
// Where lines go: "" or "-" = stderr (closing a file opened before). Returns false (and keeps
// where lines went) when the file can't be opened.
bool open(const std::string& path);
void set_min_level(LogLevel level);
void write(LogLevel level, std::string_view line);
// Writes every queued line and ends the writer thread; later lines are written at once by their
// caller. Runs at exit (atexit); call it sooner where a line must be on disk now.
void finish();
inline void debug(std::string_view l) { write(LogLevel::debug, l); }
inline void info(std::string_view l) { write(LogLevel::info, l); }
inline void warn(std::string_view l) { write(LogLevel::warn, l); }
inline void error(std::string_view l) { write(LogLevel::error, l); }
}  // namespace log

}  // namespace ferry
