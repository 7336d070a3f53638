// The Prometheus text exposition format (version 0.0.4) of ferryd's metrics: counters and
// histograms from base/metrics, and what is read at scrape time (pool queues, the accounts and
// shared folders using the most quota, the process).
#pragma once
#include "fs/quota.hpp"
#include "sys/process_stats.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace ferry::app {

struct ScrapeInputs {
    std::size_t cpu_pool_queued = 0;
    std::size_t io_pool_queued = 0;
    std::size_t awaiting_login = 0;  // of the sessions open: not logged in yet
    std::vector<fs::QuotaRegistry::Use> accounts;  // the top ones by usage (metrics_top_accounts)
    std::vector<fs::QuotaRegistry::Use> folders;
    std::optional<sys::ProcessStats> process;
};

std::string metrics_text(const ScrapeInputs& inputs);

// A label value: backslash, double quote and line feed escaped.
std::string label_value(std::string_view text);

}  // namespace ferry::app
