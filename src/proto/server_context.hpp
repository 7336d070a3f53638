// What every session shares: settings, the accounts, the worker pool, the transfer log.
// Everything here is either immutable after start-up or thread-safe.
#pragma once
#include "app/config.hpp"
#include "auth/accounts.hpp"
#include "net/worker_pool.hpp"
#include "proto/xferlog.hpp"

#include <atomic>

namespace ferry::proto {

struct ServerContext {
    const app::Config& config;
    auth::AccountStore& accounts;
    net::WorkerPool& pool;
    XferLog& xferlog;
    std::atomic<bool> shutting_down{false};
};

}  // namespace ferry::proto
