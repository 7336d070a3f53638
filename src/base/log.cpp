#include "base/log.hpp"

#include "sys/file.hpp"
#include "sys/time.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ferry::log {
namespace {
std::mutex g_mutex;
FILE* g_out = nullptr;  // nullptr = stderr
LogLevel g_min = LogLevel::info;

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "?";
}
}  // namespace

bool open(const std::string& path) {
    std::lock_guard lock(g_mutex);
    if (path.empty() || path == "-") return true;
    FILE* f = sys::open_log_file(path);
    if (!f) return false;
    if (g_out) std::fclose(g_out);
    g_out = f;
    return true;
}

void set_min_level(LogLevel level) { g_min = level; }

void write(LogLevel level, std::string_view line) {
    if (level < g_min) return;
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
    const std::tm utc = sys::utc_time(ms / 1000);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::lock_guard lock(g_mutex);
    FILE* out = g_out ? g_out : stderr;
    std::fprintf(out, "%s.%03ldZ %s %.*s\n", stamp, static_cast<long>(ms % 1000), level_name(level),
                 static_cast<int>(line.size()), line.data());
    std::fflush(out);
}

}  // namespace ferry::log
