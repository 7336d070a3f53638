// What every session shares: settings, the accounts, the worker pool, the transfer log.
// Everything here is either immutable after start-up or thread-safe.
#pragma once
#include "auth/accounts.hpp"
#include "auth/defender.hpp"
#include "auth/registration.hpp"
#include "auth/user_policies.hpp"
#include "auth/user_sessions.hpp"
#include "auth/verified_passwords.hpp"
#include "fs/files_being_written.hpp"
#include "fs/home_registry.hpp"
#include "fs/quota.hpp"
#include "net/tls_context.hpp"
#include "net/worker_pool.hpp"
#include "proto/hook_event.hpp"
#include "proto/rate_limit.hpp"
#include "proto/user_jobs.hpp"
#include "proto/settings.hpp"
#include "proto/upload_digest.hpp"
#include "proto/xferlog.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>

namespace ferry::proto {

struct ServerContext {
    ServerContext(Settings settings, auth::DefenderSettings defence, auth::AccountStore& accounts,
                  net::WorkerPool& pool, net::WorkerPool& io_pool, XferLog& xferlog)
        : config(std::move(settings)), accounts(accounts), pool(pool), io_pool(io_pool), xferlog(xferlog),
          homes(config.folder_cache), folder_homes(config.folder_cache), registrations(config.registrations_per_hour), defender(std::move(defence)),
          hash_jobs(config.max_hash_jobs_per_user), file_requests(config.max_file_requests_per_user), transfers(0),
          verified_passwords(config.auth_cache_ttl) {}

    const Settings config;
    auth::AccountStore& accounts;
    net::WorkerPool& pool;     // CPU work: argon2id, hashing, digests
    net::WorkerPool& io_pool;  // file-system calls of the sessions' requests
    XferLog& xferlog;
    fs::QuotaRegistry quotas;                 // one usage counter per user, for all their sessions
    fs::HomeRegistry homes;                   // one open home per user, for all their sessions
    fs::HomeRegistry folder_homes;            // one open shared folder each (beneath shared_root)
    fs::QuotaRegistry folder_quotas;          // one usage counter per shared folder, for everyone in it
    auth::RegistrationLimiter registrations;  // SITE REGISTER per client address
    auth::Defender defender;                  // failed logins per address and account, bans
    fs::FilesBeingWritten being_written;      // uploads in progress: no kTLS sendfile of those
    UserJobs hash_jobs;                       // HASH jobs per user, capped
    UserJobs file_requests;                   // requests on the I/O pool per user, capped
    UserJobs transfers;                       // uploads and downloads per user (the policy's limit)
    auth::UserPolicies policies;              // the access policy of each logged-in account
    UserRates rates;                          // the accounts' bandwidth buckets
    PendingDigests pending_digests;           // uploads whose digests are still being computed
    auth::VerifiedPasswords verified_passwords;  // returning logins skip argon2id (auth_cache_ttl)
    auth::UserSessions user_sessions;         // logged-in sessions per account (max_sessions_per_user)
    net::CurrentTlsContext tls;               // empty without TLS; replaced by a reload (SIGHUP)
    HookSink* hooks = nullptr;                // the [[hook]]s (app/hooks); nullptr: none configured
    // Sessions connected and not logged in yet: counted up by the acceptor, down by the session.
    std::atomic<unsigned> awaiting_login{0};
    // login_timeout, or login_timeout_busy while three quarters of max_sessions_unauthenticated are taken.
    std::chrono::seconds login_timeout() const {
        const bool busy = std::uint64_t(awaiting_login.load()) * 4 >= std::uint64_t(config.max_sessions_unauthenticated) * 3;
        return busy ? std::min(config.login_timeout, config.login_timeout_busy) : config.login_timeout;
    }
    // Closes every session logged in as `user`, whose account is gone (SITE DELUSER); set by the server.
    std::function<void(const std::string& user)> account_deleted;
    // Several nodes: tells the others of a failed login here (set by the server; empty alone).
    std::function<void(const std::string& address, const std::string& user)> publish_failure;
    // A new ban into bans_file (on the worker pool), so it survives a restart.
    void record_ban(const auth::Ban& ban);

    // An account's quota as enforced: 0 means the config's default_quota.
    std::uint64_t quota_limit(std::uint64_t account_quota) const {
        return account_quota == 0 ? config.default_quota : account_quota;
    }
    // The limit the accounts file gives `name` now; nullopt if the account is gone.
    std::optional<std::uint64_t> quota_limit_of(const std::string& name) {
        const auto account = accounts.find(name);
        if (!account) return std::nullopt;
        return quota_limit(account->quota);
    }
    // The same as a QuotaRegistry limit source, with `fallback` (an account quota) if it is gone.
    fs::QuotaRegistry::LimitSource current_quota_limit(const std::string& name, std::uint64_t fallback) {
        return [this, name, fallback] { return quota_limit_of(name).value_or(quota_limit(fallback)); };
    }
};

}  // namespace ferry::proto
