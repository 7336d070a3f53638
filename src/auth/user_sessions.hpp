// Logged-in sessions per account, for max_sessions_per_user: one count per account (names compared
// without case, as accounts are), shared by every reactor thread. A session holds a Slot while it is
// logged in; the Slot gives its place back when it goes (logout by REIN, close, delete).
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::auth {

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

    // A slot for one more session of `user`, or nullptr when `limit` of them are logged in already.
    // limit 0 = no limit (and no counting: nullptr is then not a refusal; check limit first).
    std::unique_ptr<Slot> try_take(std::string_view user, unsigned limit);
    unsigned count(std::string_view user) const;

private:
    void release(const std::string& key);
    mutable std::mutex mutex_;
    std::unordered_map<std::string, unsigned> counts_;
};

}  // namespace ferry::auth
