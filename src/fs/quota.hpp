// Per-user quota accounting, shared by all of one user's sessions (which may run on different
// reactor threads).
//
// The bytes of an upload are reserved before they are written and settled afterwards, so two
// sessions uploading at once can never together pass the limit:
//
//     std::uint64_t granted = quota.reserve(chunk);   // 0 -> stop the upload with 552
//     std::uint64_t written = write up to `granted` bytes ...;
//     quota.settle(granted, written);                 // always, also after a failed write
//
// Deletes, truncations and renames over an existing file report their effect with adjust().
// Usage is measured once from the home (ensure_measured, on the worker pool) and from then on kept
// in memory only: unless the quota is shared by several nodes, when a UsageLedger (the database)
// holds usage and reservations for all of them, and reserve_shared()/settle_shared() (blocking,
// worker pool) take the place of reserve()/settle().
#pragma once
#include "base/result.hpp"
#include "base/size.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <unordered_map>

namespace ferry::fs {

class Home;

// Usage and reservations kept outside this process, for every node at once (db/pg_usage.hpp).
// Blocking calls: worker pool only. The limit is the ledger's own (the account's quota there).
class UsageLedger {
public:
    virtual ~UsageLedger() = default;
    struct Grant {
        std::uint64_t id = 0;       // of the reservation, for settle
        std::uint64_t bytes = 0;    // granted; 0 = the quota is full
        std::uint64_t held = 0;     // reserved by other uploads when it was asked (they may free some)
        std::uint64_t used = 0;     // the account's stored usage then
    };
    virtual Result<Grant> reserve(const std::string& user, std::uint64_t wanted) = 0;
    // The reservation is over: `written` of its bytes count as used. Returns the stored usage.
    // settle and adjust never lose a change: one the ledger cannot store now (an error) is kept
    // and stored, in order, before anything else once it can.
    virtual Result<std::uint64_t> settle(const std::string& user, std::uint64_t id, std::uint64_t written) = 0;
    virtual Status adjust(const std::string& user, std::int64_t delta) = 0;
    // The stored usage, or nullopt when the home was never measured (the first node measures it).
    virtual Result<std::optional<std::uint64_t>> stored_usage(const std::string& user) = 0;
    // Records a measurement unless another node recorded one first; returns the stored figure.
    virtual Result<std::uint64_t> record_measurement(const std::string& user, std::uint64_t used) = 0;
};

class UserQuota {
public:
    explicit UserQuota(std::uint64_t limit) : limit_(limit) {}
    // Shared by several nodes: usage lives in `ledger`; `background` runs a blocking job on the
    // worker pool (for adjust(), which is called from reactor threads).
    UserQuota(std::uint64_t limit, std::string user, std::shared_ptr<UsageLedger> ledger,
              std::function<void(std::function<void()>)> background)
        : limit_(limit), user_(std::move(user)), ledger_(std::move(ledger)), background_(std::move(background)) {}
    UserQuota(const UserQuota&) = delete;
    UserQuota& operator=(const UserQuota&) = delete;

    std::uint64_t limit() const;
    // Takes effect at once: uploads already running see it at their next reserve(). Lowering it
    // below used() is allowed; free() is then 0 until enough is deleted.
    void set_limit(std::uint64_t limit);
    std::uint64_t used() const;
    // Bytes granted by reserve() and not yet settled.
    std::uint64_t reserved() const;
    // max(0, limit - used - reserved), or unlimited_bytes when the limit is unlimited. (AVBL)
    std::uint64_t free() const;

    // Grants min(wanted, free()) bytes and holds them until settle(). 0 means the quota is full.
    std::uint64_t reserve(std::uint64_t wanted);
    // Releases a reservation of `reserved` bytes (what reserve() returned) and counts `written` of
    // them as used. Call it exactly once per reserve(), also when the write failed (written = 0).
    // written <= reserved; should a caller write more, used() still counts every written byte.
    void settle(std::uint64_t reserved, std::uint64_t written);
    // Changes that are not uploads: -size for a delete, new - old for a truncation or a rename
    // over an existing file. used() never goes below 0.
    void adjust(std::int64_t delta);

    // The first call measures home.usage() and sets used(). It blocks (call it on the worker pool);
    // callers that arrive during the measurement wait for it and share its result (also a failure); once measured,
    // every call returns ok at once. A failed measurement returns its error, leaves measured()
    // false and is retried by the next call. Until measured(), used() is 0: do not let the user
    // upload before ensure_measured succeeded, or the limit is enforced against a wrong figure.
    // A measurement overrides adjustments made before it (they are assumed to be on disk).
    Status ensure_measured(const Home& home);
    bool measured() const;

    // ---- shared quotas (ledger set) ----
    bool shared() const { return ledger_ != nullptr; }
    // Blocking (worker pool): one chunk from the ledger; used() and free() then show its figures.
    Result<UsageLedger::Grant> reserve_shared(std::uint64_t wanted);
    void settle_shared(std::uint64_t id, std::uint64_t written);

private:
    void note_stored_usage(std::uint64_t used);
    Result<std::uint64_t> measure(const Home& home);
    enum class Measurement { none, running, done };

    mutable std::mutex mutex_;  // guards the counters below; held for a few instructions only
    std::uint64_t limit_;
    std::uint64_t used_ = 0;
    std::uint64_t reserved_ = 0;
    const std::string user_;                      // shared quotas only
    const std::shared_ptr<UsageLedger> ledger_;
    const std::function<void(std::function<void()>)> background_;

    // Separate from mutex_ so a long scan never blocks reserve()/settle() of the hot path.
    mutable std::mutex measure_mutex_;
    std::condition_variable measure_done_;
    Measurement measurement_ = Measurement::none;
    std::uint64_t attempts_ = 0;  // finished measurements; waiters wake when it moves
    Status last_error_;           // of the last failed measurement, for the callers that waited on it
};

// One UserQuota per user name, shared by that user's sessions.
class QuotaRegistry {
public:
    // Where a limit comes from: read under the registry's lock, so that of two callers racing (a
    // login and an admin's SITE SETQUOTA) the one that reads last sets the limit, and a login that
    // read the accounts file before a change cannot put the old limit back after it.
    using LimitSource = std::function<std::uint64_t()>;

    // The user's quota, created on first use; an existing one gets current_limit() as its new
    // limit (so an edited accounts file applies to running sessions at the next login).
    std::shared_ptr<UserQuota> for_user(const std::string& name, const LimitSource& current_limit);
    // From now on, new quotas are shared through `ledger` (set once, before the first login).
    void share_through(std::shared_ptr<UsageLedger> ledger, std::function<void(std::function<void()>)> background) {
        ledger_ = std::move(ledger);
        background_ = std::move(background);
    }
    // Sets current_limit() on the user's quota if there is one (SITE SETQUOTA: at once for running
    // sessions). False when the user has none.
    bool refresh_limit(const std::string& name, const LimitSource& current_limit);
    // refresh_limit for every user that has a quota; current_limit(name) is nullopt for a user
    // whose account is gone (that quota is left as it is).
    void refresh_all(const std::function<std::optional<std::uint64_t>(const std::string&)>& current_limit);
    // nullptr when the user has none.
    std::shared_ptr<UserQuota> find(const std::string& name) const;
    struct Use {
        std::string name;
        std::uint64_t used;
        std::uint64_t limit;
    };
    // The `count` users (or folders) with the most bytes used, most first (for the metrics).
    std::vector<Use> top_usage(std::size_t count) const;
    // Drops the entry (after a user is deleted or renamed). Sessions holding it keep their copy; the
    // next for_user() starts again from a fresh measurement.
    void forget(const std::string& name);

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<UserQuota>> quotas_;
    std::shared_ptr<UsageLedger> ledger_;
    std::function<void(std::function<void()>)> background_;
};

}  // namespace ferry::fs
