// Logged-in sessions per account, for max_sessions_per_user: one count per account (names compared
// without case, as accounts are), shared by every reactor thread; or, with several nodes, counted
// in a SessionLedger (the database) across all of them. A session holds a Slot while it is logged
// in; the Slot gives its place back when it goes (logout by REIN, close, delete).
#pragma once
#include "base/result.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::auth {

// Sessions per account across nodes (db/pg_accounts.hpp). Blocking: worker pool only.
class SessionLedger {
public:
    virtual ~SessionLedger() = default;
    // One more session of `user` on this node, if all nodes together have fewer than `limit`.
    virtual Result<bool> take(const std::string& user, unsigned limit) = 0;
    virtual Status give_back(const std::string& user) = 0;
};

class UserSessions {
public:
    class Slot {
    public:
        Slot(UserSessions& owner, std::string key) : owner_(owner), key_(std::move(key)) {}
        ~Slot() { owner_.release(key_); }
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;

    private:
        UserSessions& owner_;
        std::string key_;
    };

    // From now on counted in `ledger`; `background` runs a blocking job on the worker pool (a Slot
    // may go on a reactor thread). Set once, before the first login.
    void share_through(std::shared_ptr<SessionLedger> ledger, std::function<void(std::function<void()>)> background) {
        ledger_ = std::move(ledger);
        background_ = std::move(background);
    }

    // A slot for one more session of `user`, or nullptr when `limit` of them are logged in already;
    // an error when the shared count cannot be reached. Blocking when shared (worker pool).
    // limit 0 = no limit (and no counting: nullptr is then not a refusal; check limit first).
    Result<std::unique_ptr<Slot>> try_take(std::string_view user, unsigned limit);
    unsigned count(std::string_view user) const;  // this node's

private:
    void release(const std::string& key);
    mutable std::mutex mutex_;
    std::unordered_map<std::string, unsigned> counts_;
    std::shared_ptr<SessionLedger> ledger_;
    std::function<void(std::function<void()>)> background_;
};

}  // namespace ferry::auth
