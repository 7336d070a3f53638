// Not read on Windows yet: the metrics endpoint is Linux-only for now (app/windows/metrics_endpoint.cpp).
#include "sys/process_stats.hpp"

namespace ferry::sys {

std::optional<ProcessStats> process_stats() { return std::nullopt; }

}  // namespace ferry::sys
