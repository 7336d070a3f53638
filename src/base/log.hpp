// One-line, thread-safe logging to stderr or a file. Callers build the line with cat(); one
// writer thread writes it (log.cpp), so logging never waits for the disk.
#pragma once
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace ferry {

enum class LogLevel { debug, info, warn, error };
// text: "2026-12-08T00:05:14.123Z info session 12 127.0.0.1 alice upload /a.txt: ..."; json: one
// object per line with time, level, session, client, account, event (the message's first word)
// and message, for log shippers.
enum class LogFormat { text, json };

// Concatenate anything streamable: cat("user=", name, " bytes=", n).
template <class... Args>
std::string cat(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

namespace log {
// Who a line is about: a session's number, its client's address, the account once logged in.
struct Subject {
    std::uint64_t session = 0;
    std::string client;
    std::string account;
};

// Where lines go: "" or "-" = stderr (closing a file opened before). Returns false (and keeps
// where lines went) when the file can't be opened.
bool open(const std::string& path);
void set_min_level(LogLevel level);
void set_format(LogFormat format);
void write(LogLevel level, std::string_view line);
void write(LogLevel level, const Subject& subject, std::string_view line);
// Writes every queued line and ends the writer thread; later lines are written at once by their
// caller. Runs at exit (atexit); call it sooner where a line must be on disk now.
void finish();
inline void debug(std::string_view l) { write(LogLevel::debug, l); }
inline void info(std::string_view l) { write(LogLevel::info, l); }
inline void warn(std::string_view l) { write(LogLevel::warn, l); }
inline void error(std::string_view l) { write(LogLevel::error, l); }
inline void info(const Subject& s, std::string_view l) { write(LogLevel::info, s, l); }
inline void warn(const Subject& s, std::string_view l) { write(LogLevel::warn, s, l); }
inline void error(const Subject& s, std::string_view l) { write(LogLevel::error, s, l); }

// `text` as a JSON string's contents: quotes, backslashes and control characters escaped, bytes
// that are not UTF-8 replaced by U+FFFD (a file name may be any bytes; JSON must be UTF-8).
std::string json_escaped(std::string_view text);
}  // namespace log

}  // namespace ferry
