#include "proto/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace ferry::proto {
namespace {

constexpr std::uint64_t min_burst = 16u << 10;

std::uint64_t burst_of(std::uint64_t rate) { return std::max(rate / 10, min_burst); }

}  // namespace

TokenBucket::TokenBucket(std::uint64_t rate, Clock::time_point now)
    : rate_(std::max<std::uint64_t>(rate, 1)), burst_(burst_of(rate_)), tokens_(static_cast<double>(burst_)), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
    if (now <= last_) return;
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + seconds * static_cast<double>(rate_));
    last_ = now;
}

TokenBucket::Taken TokenBucket::take(std::uint64_t wanted, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    refill(now);
    // A whole byte at least, and a slice worth a wakeup when the rest is not smaller.
    const double enough = static_cast<double>(std::min<std::uint64_t>(std::max<std::uint64_t>(wanted, 1), burst_ / 4));
    if (tokens_ < enough) {
        const double seconds = (enough - tokens_) / static_cast<double>(rate_);
        return {0, std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)))};
    }
    const auto bytes = std::min<std::uint64_t>({wanted, burst_, static_cast<std::uint64_t>(tokens_)});
    tokens_ -= static_cast<double>(bytes);
    return {bytes, {}};
}

void TokenBucket::give_back(std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + static_cast<double>(bytes));
}

void TokenBucket::set_rate(std::uint64_t rate) {
    std::lock_guard lock(mutex_);
    refill(Clock::now());
    rate_ = std::max<std::uint64_t>(rate, 1);
    burst_ = burst_of(rate_);
    tokens_ = std::min(tokens_, static_cast<double>(burst_));
}

std::uint64_t TokenBucket::rate() const {
    std::lock_guard lock(mutex_);
    return rate_;
}

std::shared_ptr<TokenBucket> UserRates::bucket(const std::string& user, Direction direction, std::uint64_t rate) {
    if (rate == 0) return nullptr;
    std::lock_guard lock(mutex_);
    std::erase_if(buckets_, [](const auto& entry) { return entry.second.expired(); });
    auto& slot = buckets_[{user, direction}];
    if (auto held = slot.lock()) {
        if (held->rate() != rate) held->set_rate(rate);
        return held;
    }
    auto made = std::make_shared<TokenBucket>(rate);
    slot = made;
    return made;
}

void UserRates::refresh(const std::function<std::optional<std::uint64_t>(const std::string&, Direction)>& rate_of) {
    constexpr std::uint64_t no_limit = std::uint64_t{1} << 40;  // 1 TiB/s: nothing waits for it
    std::lock_guard lock(mutex_);
    for (const auto& [key, weak] : buckets_) {
        auto held = weak.lock();
        if (!held) continue;
        const auto rate = rate_of(key.first, key.second);
        if (rate) held->set_rate(*rate == 0 ? no_limit : *rate);
    }
}

Pacer::~Pacer() {
    if (timer_) reactor_.cancel_timer(timer_);
}

void Pacer::next(std::uint64_t wanted, Go go) {
    const TokenBucket::Taken taken = bucket_->take(wanted);
    if (taken.bytes > 0) return go(taken.bytes);
    timer_ = reactor_.add_timer(std::max(taken.wait, std::chrono::milliseconds(1)), [this, wanted, go = std::move(go)]() mutable {
        timer_ = 0;
        next(wanted, std::move(go));
    });
}

}  // namespace ferry::proto
