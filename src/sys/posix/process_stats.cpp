// From /proc/self (Linux): stat for the CPU times and the start, statm for the resident pages,
// fd/ for the descriptors.
#include "sys/process_stats.hpp"

#include <ctime>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace ferry::sys {
namespace {

// Seconds since 1970 at which the system booted (/proc/stat's btime).
double boot_time() {
    std::ifstream stat("/proc/stat");
    std::string key;
    double value = 0;
    while (stat >> key) {
        if (key == "btime" && stat >> value) return value;
        stat.ignore(1 << 16, '\n');
    }
    return 0;
}

std::uint64_t count_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return 0;
    std::uint64_t count = 0;
    while (const dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.') ++count;
    ::closedir(dir);
    return count > 0 ? count - 1 : 0;  // not the one opendir itself holds
}

}  // namespace

std::optional<ProcessStats> process_stats() {
    std::ifstream stat_file("/proc/self/stat");
    std::string text;
    if (!std::getline(stat_file, text)) return std::nullopt;
    // The command name (field 2) may hold spaces: the fields that matter follow its ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0, start_ticks = 0;
    for (int index = 3; index <= 22 && fields >> field; ++index) {
        if (index == 14) utime = std::stod(field);
        if (index == 15) stime = std::stod(field);
        if (index == 22) start_ticks = std::stod(field);
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    ProcessStats stats;
    stats.cpu_seconds = (utime + stime) / ticks;
    stats.start_time_seconds = boot_time() + start_ticks / ticks;
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0, resident = 0;
    if (statm >> pages >> resident) stats.resident_bytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    stats.open_fds = count_fds();
    return stats;
}

}  // namespace ferry::sys
