// Jobs of one kind running per user, capped. A HASH of a big file keeps a pool thread for seconds,
// a file request on slow storage an I/O thread for milliseconds: without a cap, one user with many
// sessions fills the pool and everyone else waits behind them.
#pragma once
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace ferry::proto {

class UserJobs {
public:
    explicit UserJobs(unsigned per_user) : per_user_(per_user) {}

    // Held for as long as the job runs (also on the pool thread); move-only.
    class Slot {
    public:
        Slot(UserJobs* jobs, std::string user) : jobs_(jobs), user_(std::move(user)) {}
        Slot(Slot&& other) noexcept : jobs_(std::exchange(other.jobs_, nullptr)), user_(std::move(other.user_)) {}
        Slot& operator=(Slot&&) = delete;
        Slot(const Slot&) = delete;
        ~Slot() {
            if (jobs_) jobs_->release(user_);
        }

    private:
        UserJobs* jobs_;
        std::string user_;
    };

    // A slot, or nullopt when `user` already runs per_user jobs.
    std::optional<Slot> try_start(const std::string& user) { return try_start(user, per_user_); }
    // The same with a limit of the user's own.
    std::optional<Slot> try_start(const std::string& user, unsigned limit) {
        std::lock_guard lock(mutex_);
        unsigned& running = running_[user];
        if (running >= limit) {
            if (running == 0) running_.erase(user);
            return std::nullopt;
        }
        ++running;
        return std::optional<Slot>(std::in_place, this, user);
    }
    unsigned per_user() const { return per_user_; }

private:
    void release(const std::string& user) {
        std::lock_guard lock(mutex_);
        auto it = running_.find(user);
        if (it != running_.end() && --it->second == 0) running_.erase(it);
    }

    const unsigned per_user_;
    std::mutex mutex_;
    std::map<std::string, unsigned> running_;
};

}  // namespace ferry::proto
