#include "fs/quota.hpp"

#include "base/log.hpp"
#include "fs/home.hpp"

#include <algorithm>

namespace ferry::fs {
namespace {

// a - b, or 0 when b >= a.
std::uint64_t minus_floor_zero(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : 0; }

// a + b, or the largest value instead of wrapping round.
std::uint64_t plus_saturating(std::uint64_t a, std::uint64_t b) {
    return b > unlimited_bytes - a ? unlimited_bytes : a + b;
}

}  // namespace

std::uint64_t UserQuota::limit() const {
    std::lock_guard lock(mutex_);
    return limit_;
}

void UserQuota::set_limit(std::uint64_t limit) {
    std::lock_guard lock(mutex_);
    limit_ = limit;
}

std::uint64_t UserQuota::used() const {
    std::lock_guard lock(mutex_);
    return used_;
}

std::uint64_t UserQuota::reserved() const {
    std::lock_guard lock(mutex_);
    return reserved_;
}

std::uint64_t UserQuota::free() const {
    std::lock_guard lock(mutex_);
    if (limit_ == unlimited_bytes) return unlimited_bytes;
    return minus_floor_zero(limit_, plus_saturating(used_, reserved_));
}

std::uint64_t UserQuota::reserve(std::uint64_t wanted) {
    std::lock_guard lock(mutex_);
    const std::uint64_t available =
        limit_ == unlimited_bytes ? unlimited_bytes : minus_floor_zero(limit_, plus_saturating(used_, reserved_));
    const std::uint64_t granted = std::min(wanted, available);
    reserved_ = plus_saturating(reserved_, granted);
    return granted;
}

void UserQuota::settle(std::uint64_t reserved, std::uint64_t written) {
    std::lock_guard lock(mutex_);
    reserved_ = minus_floor_zero(reserved_, reserved);
    used_ = plus_saturating(used_, written);
}

void UserQuota::adjust(std::int64_t delta) {
    if (ledger_) {
        background_([ledger = ledger_, user = user_, delta] {
            if (const Status err = ledger->adjust(user, delta))
                log::warn(cat("quota of ", user, ": the database did not take a change of ", delta, " bytes yet: ", err.message(),
                              "; told again when it is back"));
        });
    }
    std::lock_guard lock(mutex_);
    if (delta >= 0) {
        used_ = plus_saturating(used_, static_cast<std::uint64_t>(delta));
    } else {
        // -(delta + 1) + 1 avoids negating INT64_MIN.
        used_ = minus_floor_zero(used_, static_cast<std::uint64_t>(-(delta + 1)) + 1);
    }
}

bool UserQuota::measured() const {
    std::lock_guard lock(measure_mutex_);
    return measurement_ == Measurement::done;
}

Status UserQuota::ensure_measured(const Home& home) {
    {
        std::unique_lock lock(measure_mutex_);
        if (measurement_ == Measurement::running) {
            // Share the result of the measurement under way, success or failure.
            const std::uint64_t waited_for = attempts_;
            measure_done_.wait(lock, [&] { return attempts_ != waited_for; });
            return measurement_ == Measurement::done ? Status{} : last_error_;
        }
        if (measurement_ == Measurement::done) return {};
        measurement_ = Measurement::running;  // this caller measures, later ones wait
    }
    // The scan can take seconds on a big home: no lock held meanwhile.
    Result<std::uint64_t> usage = measure(home);
    {
        std::lock_guard lock(measure_mutex_);
        if (usage.ok()) {
            {
                std::lock_guard counters(mutex_);
                used_ = usage.value();
            }
            measurement_ = Measurement::done;
        } else {
            measurement_ = Measurement::none;  // the next caller tries again
            last_error_ = usage.error();
        }
        ++attempts_;
    }
    measure_done_.notify_all();
    return usage.ok() ? Status{} : usage.error();
}

// A shared quota takes the stored figure, and measures the home only if no node has yet.
Result<std::uint64_t> UserQuota::measure(const Home& home) {
    if (!ledger_) return home.usage();
    auto stored = ledger_->stored_usage(user_);
    if (!stored) return stored.error();
    if (*stored) return **stored;
    auto usage = home.usage();
    if (!usage) return usage;
    return ledger_->record_measurement(user_, *usage);
}

Result<UsageLedger::Grant> UserQuota::reserve_shared(std::uint64_t wanted) {
    auto grant = ledger_->reserve(user_, wanted);
    if (grant) note_stored_usage(grant->used);
    return grant;
}

void UserQuota::settle_shared(std::uint64_t id, std::uint64_t written) {
    auto used = ledger_->settle(user_, id, written);
    if (used) return note_stored_usage(*used);
    // The ledger keeps what it could not store and tells the database again when it is back.
    log::warn(cat("quota of ", user_, ": the database did not take ", written, " written bytes yet: ", used.error().message(),
                  "; told again when it is back"));
}

void UserQuota::note_stored_usage(std::uint64_t used) {
    std::lock_guard lock(mutex_);
    used_ = used;
}

std::shared_ptr<UserQuota> QuotaRegistry::for_user(const std::string& name, const LimitSource& current_limit) {
    std::lock_guard lock(mutex_);
    if (auto found = quotas_.find(name); found != quotas_.end()) {
        found->second->set_limit(current_limit());
        return found->second;
    }
    auto quota = ledger_ ? std::make_shared<UserQuota>(current_limit(), name, ledger_, background_)
                         : std::make_shared<UserQuota>(current_limit());
    quotas_.emplace(name, quota);
    return quota;
}

bool QuotaRegistry::refresh_limit(const std::string& name, const LimitSource& current_limit) {
    std::lock_guard lock(mutex_);
    auto found = quotas_.find(name);
    if (found == quotas_.end()) return false;
    found->second->set_limit(current_limit());
    return true;
}

void QuotaRegistry::refresh_all(const std::function<std::optional<std::uint64_t>(const std::string&)>& current_limit) {
    std::lock_guard lock(mutex_);
    for (auto& [name, quota] : quotas_)
        if (auto limit = current_limit(name)) quota->set_limit(*limit);
}

std::shared_ptr<UserQuota> QuotaRegistry::find(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto entry = quotas_.find(name);
    return entry == quotas_.end() ? nullptr : entry->second;
}

std::vector<QuotaRegistry::Use> QuotaRegistry::top_usage(std::size_t count) const {
    std::vector<Use> uses;
    {
        std::lock_guard lock(mutex_);
        uses.reserve(quotas_.size());
        for (const auto& [name, quota] : quotas_) uses.push_back({name, quota->used(), quota->limit()});
    }
    const std::size_t kept = std::min(count, uses.size());
    std::partial_sort(uses.begin(), uses.begin() + static_cast<std::ptrdiff_t>(kept), uses.end(),
                      [](const Use& a, const Use& b) { return a.used > b.used || (a.used == b.used && a.name < b.name); });
    uses.resize(kept);
    return uses;
}

void QuotaRegistry::forget(const std::string& name) {
    std::lock_guard lock(mutex_);
    quotas_.erase(name);
}

}  // namespace ferry::fs
