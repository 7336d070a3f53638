// The effective policy of each logged-in account, shared by all of its sessions (as its quota is)
// and replaced in place when the accounts change (`ferryd user perm`, a group's new rule, another
// node's change): a running session checks its next request against the new rules.
#pragma once
#include "auth/accounts.hpp"
#include "auth/policy.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ferry::auth {

class UserPolicy {
public:
    explicit UserPolicy(EffectivePolicy policy) : current_(std::make_shared<const EffectivePolicy>(std::move(policy))) {}
    // The policy as it is now; a request keeps the copy it checked against while it runs.
    std::shared_ptr<const EffectivePolicy> current() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void replace(EffectivePolicy policy) {
        auto next = std::make_shared<const EffectivePolicy>(std::move(policy));
        std::lock_guard lock(mutex_);
        current_.swap(next);
    }  // the old one goes here, outside the lock

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const EffectivePolicy> current_;
};

class UserPolicies {
public:
    // The holder of `user`'s sessions, set to `now` (what the login just read).
    std::shared_ptr<UserPolicy> for_user(const std::string& user, EffectivePolicy now) {
        std::lock_guard lock(mutex_);
        std::erase_if(holders_, [](const auto& entry) { return entry.second.expired(); });
        if (auto held = holders_[user].lock()) {
            held->replace(std::move(now));
            return held;
        }
        auto holder = std::make_shared<UserPolicy>(std::move(now));
        holders_[user] = holder;
        return holder;
    }
    // The accounts changed: every logged-in account's policy is worked out again. A deleted
    // account's sessions are closed by the server; its holder is left as it was.
    void refresh_all(const AccountsFile& accounts) {
        std::lock_guard lock(mutex_);
        for (const auto& [user, weak] : holders_) {
            auto held = weak.lock();
            const Account* account = accounts.find(user);
            if (held && account) held->replace(accounts.policy_of(*account));
        }
    }

private:
    std::mutex mutex_;
    std::map<std::string, std::weak_ptr<UserPolicy>> holders_;
};

}  // namespace ferry::auth
