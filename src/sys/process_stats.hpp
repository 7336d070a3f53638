// This process's CPU time, resident memory and open descriptors, for the metrics endpoint.
#pragma once
#include <cstdint>
#include <optional>

namespace ferry::sys {

struct ProcessStats {
    double cpu_seconds = 0;          // user + system
    std::uint64_t resident_bytes = 0;
    std::uint64_t open_fds = 0;
    double start_time_seconds = 0;   // since 1970
};

// nullopt where the platform does not say (read on demand: a few small reads of /proc on Linux).
std::optional<ProcessStats> process_stats();

}  // namespace ferry::sys
