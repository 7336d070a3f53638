// Lines are stamped by the thread that logs them and written by one writer thread (LineWriter).
#include "base/log.hpp"

#include "base/line_writer.hpp"
#include "sys/file.hpp"
#include "sys/time.hpp"

#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace ferry::log {
namespace {

// About 10 MB of lines at most; a burst this long means the disk stopped, not a busy server.
constexpr std::size_t max_queued_lines = 65536;

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "?";
}

LogFormat g_format = LogFormat::text;

// "2026-12-08T00:05:14.123Z"
std::string now_stamp() {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
    const std::tm utc = sys::utc_time(ms / 1000);
    char stamp[48];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", static_cast<long>(ms % 1000));
    return stamp;
}

std::string as_text(LogLevel level, const Subject* subject, std::string_view line) {
    std::string text;
    text.reserve(line.size() + 64);
    text.append(now_stamp()).append(" ").append(level_name(level)).append(" ");
    if (subject) {
        text.append("session ").append(std::to_string(subject->session)).append(" ").append(subject->client);
        if (!subject->account.empty()) text.append(" ").append(subject->account);
        text.append(" ");
    }
    text.append(line).append("\n");
    return text;
}

std::string as_json(LogLevel level, const Subject* subject, std::string_view line) {
    std::string text = cat("{\"time\":\"", now_stamp(), "\",\"level\":\"", level_name(level), '"');
    if (subject) {
        text += cat(",\"session\":", subject->session, ",\"client\":\"", json_escaped(subject->client), '"');
        if (!subject->account.empty()) text += cat(",\"account\":\"", json_escaped(subject->account), '"');
    }
    const std::string_view event = line.substr(0, line.find_first_of(" :"));
    text += cat(",\"event\":\"", json_escaped(event), "\",\"message\":\"", json_escaped(line), "\"}\n");
    return text;
}

std::string stamped(LogLevel level, std::string_view line, const Subject* subject = nullptr) {
    return g_format == LogFormat::json ? as_json(level, subject, line) : as_text(level, subject, line);
}

// The length of the valid UTF-8 sequence at text[i], or 0.
std::size_t utf8_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    const std::size_t length = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
    if (length == 0 || lead > 0xF4 || i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    // Overlong three- and four-byte forms, surrogates and code points past U+10FFFF.
    if ((lead == 0xE0 && byte(i + 1) < 0xA0) || (lead == 0xED && byte(i + 1) > 0x9F) ||
        (lead == 0xF0 && byte(i + 1) < 0x90) || (lead == 0xF4 && byte(i + 1) > 0x8F))
        return 0;
    return length;
}

// Never destroyed: a thread still running at exit (one that is detached) may log after the
// writer thread is gone, and then writes its line itself. At exit the queue is written out.
LineWriter& writer() {
    static LineWriter* const instance = [] {
        auto* made = new LineWriter(max_queued_lines, [](std::uint64_t dropped) {
            return stamped(LogLevel::warn, std::to_string(dropped) + " log lines dropped: the log could not keep up");
        });
        std::atexit([] { writer().stop(); });
        return made;
    }();
    return *instance;
}

LogLevel g_min = LogLevel::info;

}  // namespace

bool open(const std::string& path) {
    if (path.empty() || path == "-") {
        writer().switch_to(nullptr);  // closes a file opened before
        return true;
    }
    FILE* f = sys::open_log_file(path);
    if (!f) return false;
    writer().switch_to(f);
    return true;
}

void set_min_level(LogLevel level) { g_min = level; }
void set_format(LogFormat format) { g_format = format; }

void write(LogLevel level, std::string_view line) {
    if (level < g_min) return;
    writer().push(stamped(level, line));
}

void write(LogLevel level, const Subject& subject, std::string_view line) {
    if (level < g_min) return;
    writer().push(stamped(level, line, &subject));
}

std::string json_escaped(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else if (c >= 0x80) {
            const std::size_t length = utf8_length(text, i);
            if (length == 0) {
                out += "\\ufffd";
                ++i;
                continue;
            }
            out.append(text.substr(i, length));
            i += length;
            continue;
        } else {
            out += static_cast<char>(c);
        }
        ++i;
    }
    return out;
}

void finish() { writer().stop(); }

}  // namespace ferry::log
