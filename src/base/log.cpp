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

std::string stamped(LogLevel level, std::string_view line) {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
    const std::tm utc = sys::utc_time(ms / 1000);
    char stamp[48];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03ldZ ", static_cast<long>(ms % 1000));
    std::string text;
    text.reserve(line.size() + 40);
    text.append(stamp).append(level_name(level)).append(" ").append(line).append("\n");
    return text;
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

void write(LogLevel level, std::string_view line) {
    if (level < g_min) return;
    writer().push(stamped(level, line));
}

void finish() { writer().stop(); }

}  // namespace ferry::log
