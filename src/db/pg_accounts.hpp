// Accounts and quota usage in PostgreSQL, shared by every ferryd node that names the same database
// (accounts = "postgresql"). The schema is db/schema.cpp's.
//
//  - PgAccountStore: the accounts as auth::AccountStore. A copy of all of them is kept in memory
//    (logins never wait for the database); a thread of its own LISTENs on ferry_accounts, which a
//    trigger notifies at every change from any node or `ferryd user`, reloads the copy and tells
//    the server, so a disable or a new password reaches every node within a second. While the
//    database is unreachable available() is false (logins get 421) and the thread reconnects.
//  - PgNodeLedger: what one node shares with the others besides the accounts: quota usage and
//    reservations (fs::UsageLedger), logged-in sessions per account (auth::SessionLedger), and
//    failed logins for the defender. Reservations and session counts carry the node's name and an
//    expiry the node renews (renew()), so a node that dies loses them within reservation_ttl.
#pragma once
#include "auth/accounts.hpp"
#include "auth/defender.hpp"
#include "auth/user_sessions.hpp"
#include "db/pg.hpp"
#include "fs/quota.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <thread>

namespace ferry::db {

class PgNodeLedger;

using auth::RemoteFailure;

class PgAccountStore final : public auth::AccountStore {
public:
    // Connects and migrates the schema; nullptr (with *error) if the database cannot be reached.
    // watch = true starts the LISTEN thread (the server); `ferryd user` does without.
    static std::unique_ptr<PgAccountStore> open(std::shared_ptr<ConnectionPool> pool, bool watch, std::string* error);
    // With watch: the LISTEN thread also fetches other nodes' failed logins when they are announced.
    void notify_failures(std::shared_ptr<PgNodeLedger> ledger, std::function<void(std::vector<RemoteFailure>)> failed);
    ~PgAccountStore() override;

    std::optional<auth::Account> find(std::string_view name) override;
    std::optional<auth::AccountAndPolicy> find_with_policy(std::string_view name) override;
    Status modify(const std::function<Status(auth::AccountsFile&)>& change, std::string* error) override;
    std::optional<auth::AccountsFile> changed_since(std::uint64_t& seen) override;
    Result<auth::AccountsFile> load(std::string* error) override;
    bool available() const override { return available_.load(); }
    void notify_changes(std::function<void()> changed) override;
    std::string describe() const override { return "postgresql"; }

private:
    explicit PgAccountStore(std::shared_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}
    Status reload(Connection& connection, std::string* error);
    void watch_loop();
    Status listen_until_lost(Connection& connection, std::string* error);
    void tell_changed();
    void fetch_failures();

    std::shared_ptr<ConnectionPool> pool_;
    std::mutex mutex_;
    auth::AccountsFile cache_;
    std::uint64_t generation_ = 1;
    std::function<void()> changed_;
    std::mutex failures_mutex_;  // guards the three below
    std::shared_ptr<PgNodeLedger> failures_ledger_;
    std::function<void(std::vector<RemoteFailure>)> failed_;
    std::int64_t last_failure_ = -1;  // id of the last failed login fetched; -1 = not yet asked
    std::atomic<bool> available_{true};
    std::atomic<bool> stopping_{false};
    std::thread watcher_;
};

// Usage is kept per account (ferry_accounts) or per shared folder (ferry_folders): the same
// reservations, settles and adjustments against either table.
enum class UsageOwner { account, folder };

class PgNodeLedger final : public fs::UsageLedger, public auth::SessionLedger {
public:
    PgNodeLedger(std::shared_ptr<ConnectionPool> pool, std::string node, std::uint64_t default_quota,
                  std::chrono::milliseconds ttl)
        : pool_(std::move(pool)), node_(std::move(node)), default_quota_(default_quota), ttl_(ttl) {}

    // fs::UsageLedger of the accounts.
    Result<Grant> reserve(const std::string& user, std::uint64_t wanted) override {
        return reserve(UsageOwner::account, user, wanted);
    }
    Result<std::uint64_t> settle(const std::string& user, std::uint64_t id, std::uint64_t written) override {
        return settle(UsageOwner::account, user, id, written);
    }
    Status adjust(const std::string& user, std::int64_t delta) override { return adjust(UsageOwner::account, user, delta); }
    Result<std::optional<std::uint64_t>> stored_usage(const std::string& user) override {
        return stored_usage(UsageOwner::account, user);
    }
    Result<std::uint64_t> record_measurement(const std::string& user, std::uint64_t used) override {
        return record_measurement(UsageOwner::account, user, used);
    }
    // The same for an account's or a folder's usage.
    Result<Grant> reserve(UsageOwner owner, const std::string& name, std::uint64_t wanted);
    Result<std::uint64_t> settle(UsageOwner owner, const std::string& name, std::uint64_t id, std::uint64_t written);
    Status adjust(UsageOwner owner, const std::string& name, std::int64_t delta);
    Result<std::optional<std::uint64_t>> stored_usage(UsageOwner owner, const std::string& name);
    Result<std::uint64_t> record_measurement(UsageOwner owner, const std::string& name, std::uint64_t used);

    Result<bool> take(const std::string& user, unsigned limit) override;
    Status give_back(const std::string& user) override;
    // This node's reservations and session counts live another ttl (every ttl/3 from the server);
    // failed logins older than a day go.
    Status renew();
    // At start: this node has no uploads or sessions yet, whatever a previous run left.
    Status forget_previous_run();
    Status record_failure(const std::string& address, const std::string& account);
    // Failed logins of the other nodes after `*last_id` (the first call only sets it).
    Result<std::vector<RemoteFailure>> failures_since(std::int64_t* last_id);

private:
    struct Owed {  // a settle (id set) or an adjustment the database has not taken yet
        UsageOwner owner;
        std::string name;
        std::uint64_t id = 0;
        std::int64_t delta = 0;  // written bytes of a settle, or the adjustment
    };
    Result<std::uint64_t> apply(const Owed& owed);
    Result<std::uint64_t> apply_or_owe(Owed owed);
    Status pay_what_is_owed();
    // The query on a pooled connection; a failure is logged with the owner's name.
    Result<Rows> query(std::string_view sql, const std::vector<std::optional<std::string>>& params, const std::string& user);
    std::shared_ptr<ConnectionPool> pool_;
    const std::string node_;
    const std::uint64_t default_quota_;
    const std::chrono::milliseconds ttl_;
    std::mutex owed_mutex_;
    std::deque<Owed> owed_;
};

// The shared folders' usage, as an fs::UsageLedger keyed by folder name (fs::QuotaRegistry of folders).
class PgFolderLedger final : public fs::UsageLedger {
public:
    explicit PgFolderLedger(std::shared_ptr<PgNodeLedger> node) : node_(std::move(node)) {}
    Result<Grant> reserve(const std::string& folder, std::uint64_t wanted) override {
        return node_->reserve(UsageOwner::folder, folder, wanted);
    }
    Result<std::uint64_t> settle(const std::string& folder, std::uint64_t id, std::uint64_t written) override {
        return node_->settle(UsageOwner::folder, folder, id, written);
    }
    Status adjust(const std::string& folder, std::int64_t delta) override { return node_->adjust(UsageOwner::folder, folder, delta); }
    Result<std::optional<std::uint64_t>> stored_usage(const std::string& folder) override {
        return node_->stored_usage(UsageOwner::folder, folder);
    }
    Result<std::uint64_t> record_measurement(const std::string& folder, std::uint64_t used) override {
        return node_->record_measurement(UsageOwner::folder, folder, used);
    }

private:
    std::shared_ptr<PgNodeLedger> node_;
};

// `ferryd user rescan`: sets the stored usage to `used` (measured from the home). Refused while
// uploads hold reservations (their bytes are on disk and counted when they settle). The schema is
// there: the caller opened the store (which migrates) to find the account first.
Status rescan_usage(ConnectionPool& pool, const std::string& user, std::uint64_t used, std::string* error);

}  // namespace ferry::db
