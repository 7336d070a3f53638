// Bandwidth limits per account (the policy's upload and download rates): one token bucket per
// account and direction, shared by all of the account's sessions on this node, and a Pacer per
// transfer that asks it before each slice of data. A transfer over its rate waits on a reactor
// timer, never in a call: the reactor goes on with everyone else meanwhile.
#pragma once
#include "net/reactor.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace ferry::proto {

// Bytes per second, with a burst of a tenth of a second's worth (at least 16 KiB): slices small
// enough that a transfer's rate is even, large enough that a fast limit costs few wakeups.
class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;
    explicit TokenBucket(std::uint64_t rate, Clock::time_point now = Clock::now());

    struct Taken {
        std::uint64_t bytes = 0;                  // may be moved now (0: none)
        std::chrono::milliseconds wait{0};        // with none: when to ask again
    };
    // Up to `wanted` bytes (and never more than a burst) if the bucket holds any.
    Taken take(std::uint64_t wanted, Clock::time_point now = Clock::now());
    // Bytes taken and not moved after all (the client sent less than a slice).
    void give_back(std::uint64_t bytes);
    // A new rate (the account's policy changed); what the bucket holds stays, up to the new burst.
    void set_rate(std::uint64_t rate);
    std::uint64_t rate() const;

private:
    void refill(Clock::time_point now);  // under mutex_
    mutable std::mutex mutex_;
    std::uint64_t rate_;
    std::uint64_t burst_;
    double tokens_;
    Clock::time_point last_;
};

// The buckets of the accounts with a rate, one per account and direction, shared by its sessions.
class UserRates {
public:
    enum class Direction { upload, download };
    // The account's bucket, set to `rate`; nullptr for 0 (no limit).
    std::shared_ptr<TokenBucket> bucket(const std::string& user, Direction direction, std::uint64_t rate);
    // The accounts changed: each live bucket takes its account's rate now (`rate_of`; nullopt for an
    // account that is gone). Transfers under way keep their pacer: a rate taken away becomes one
    // so high that it no longer holds them back.
    void refresh(const std::function<std::optional<std::uint64_t>(const std::string& user, Direction direction)>& rate_of);

private:
    std::mutex mutex_;
    std::map<std::pair<std::string, Direction>, std::weak_ptr<TokenBucket>> buckets_;
};

// Paces one transfer: next(wanted, go) calls go(n), 0 < n <= wanted, at once or later from the
// reactor loop when the bucket allows; never after the Pacer is destroyed. Reactor thread only.
class Pacer {
public:
    using Go = std::function<void(std::uint64_t bytes)>;
    Pacer(net::Reactor& reactor, std::shared_ptr<TokenBucket> bucket) : reactor_(reactor), bucket_(std::move(bucket)) {}
    ~Pacer();
    Pacer(const Pacer&) = delete;
    Pacer& operator=(const Pacer&) = delete;

    void next(std::uint64_t wanted, Go go);
    void unused(std::uint64_t bytes) { bucket_->give_back(bytes); }

private:
    net::Reactor& reactor_;
    std::shared_ptr<TokenBucket> bucket_;
    net::Reactor::TimerId timer_ = 0;
};

}  // namespace ferry::proto
