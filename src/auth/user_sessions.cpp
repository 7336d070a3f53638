#include "auth/user_sessions.hpp"

#include "auth/accounts.hpp"

namespace ferry::auth {

std::unique_ptr<UserSessions::Slot> UserSessions::try_take(std::string_view user, unsigned limit) {
    if (limit == 0) return nullptr;
    std::string key = folded_name(user);
    std::lock_guard lock(mutex_);
    unsigned& count = counts_[key];
    if (count >= limit) return nullptr;  // count > 0 here: the entry existed before
    ++count;
    return std::make_unique<Slot>(*this, std::move(key));
}

unsigned UserSessions::count(std::string_view user) const {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(folded_name(user));
    return it == counts_.end() ? 0 : it->second;
}

void UserSessions::release(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(key);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
}

}  // namespace ferry::auth
