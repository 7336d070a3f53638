#include "auth/user_sessions.hpp"

#include "auth/accounts.hpp"
#include "base/log.hpp"

namespace ferry::auth {

Result<std::unique_ptr<UserSessions::Slot>> UserSessions::try_take(std::string_view user, unsigned limit) {
    if (limit == 0) return std::unique_ptr<Slot>();
    std::string key = folded_name(user);
    if (ledger_) {
        const std::string name(user);  // the database knows accounts by their exact names
        auto taken = ledger_->take(name, limit);
        if (!taken) return taken.error();
        if (!*taken) return std::unique_ptr<Slot>();
        key = name;
    }
    std::lock_guard lock(mutex_);
    unsigned& count = counts_[key];
    if (!ledger_ && count >= limit) return std::unique_ptr<Slot>();  // count > 0 here: the entry existed before
    ++count;
    return std::make_unique<Slot>(*this, std::move(key));
}

unsigned UserSessions::count(std::string_view user) const {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(ledger_ ? std::string(user) : folded_name(user));
    return it == counts_.end() ? 0 : it->second;
}

void UserSessions::release(const std::string& key) {
    {
        std::lock_guard lock(mutex_);
        const auto it = counts_.find(key);
        if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    }
    if (!ledger_) return;
    background_([ledger = ledger_, key] {
        if (const Status err = ledger->give_back(key))
            log::error(cat("sessions of ", key, ": the database did not take the end of one: ", err.message(),
                           " (it stops counting after reservation_ttl)"));
    });
}

}  // namespace ferry::auth
