// What every session shares: settings, the accounts, the worker pool, the transfer log.
// Everything here is either immutable after start-up or thread-safe.
#pragma once
#include "app/config.hpp"
#include "auth/accounts.hpp"
#include "auth/registration.hpp"
#include "fs/home_registry.hpp"
#include "fs/quota.hpp"
#include "net/tls_context.hpp"
#include "net/worker_pool.hpp"
#include "proto/xferlog.hpp"

#include <atomic>

namespace ferry::proto {

struct ServerContext {
    ServerContext(const app::Config& config, auth::AccountStore& accounts, net::WorkerPool& pool, XferLog& xferlog)
        : config(config), accounts(accounts), pool(pool), xferlog(xferlog),
          registrations(config.registrations_per_hour) {}

    const app::Config& config;
    auth::AccountStore& accounts;
    net::WorkerPool& pool;
    XferLog& xferlog;
    fs::QuotaRegistry quotas;                 // one usage counter per user, for all their sessions
    fs::HomeRegistry homes;                   // one open home per user, for all their sessions
    auth::RegistrationLimiter registrations;  // SITE REGISTER per client address
    const net::TlsContext* tls = nullptr;     // one context for control and data: its ticket keys
                                              // are what lets data connections resume the session
    std::atomic<bool> shutting_down{false};

    // An account's quota as enforced: 0 means the config's default_quota.
    std::uint64_t quota_limit(std::uint64_t account_quota) const {
        return account_quota == 0 ? config.default_quota : account_quota;
    }
    // What the accounts file says now, for QuotaRegistry; `fallback` if the account is gone.
    fs::QuotaRegistry::LimitSource current_quota_limit(const std::string& name, std::uint64_t fallback) {
        return [this, name, fallback] {
            const auto account = accounts.find(name);
            return quota_limit(account ? account->quota : fallback);
        };
    }
};

}  // namespace ferry::proto
