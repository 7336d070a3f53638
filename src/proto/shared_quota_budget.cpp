// Shared-quota upload budget (see shared_quota_budget.hpp). The reservation a pool job made is
// never lost: if the upload went away while it was being made, the job that finds out releases it.
#include "proto/shared_quota_budget.hpp"

#include "base/lifetime.hpp"
#include "base/log.hpp"

namespace ferry::proto {
namespace {

constexpr std::chrono::milliseconds retry_every{50};

class SharedQuotaBudget final : public UploadBudget {
public:
    SharedQuotaBudget(std::shared_ptr<fs::UserQuota> quota, net::Reactor& reactor, net::WorkerPool& pool,
                      std::chrono::milliseconds wait)
        : quota_(std::move(quota)), reactor_(reactor), pool_(pool), wait_(wait) {}
    ~SharedQuotaBudget() override {
        if (retry_timer_) reactor_.cancel_timer(retry_timer_);
        // An upload cut in the middle of a chunk (ABOR, reset) settles what it wrote first; what is
        // still held here was never settled.
        if (held_) release(held_id_, 0);
    }

    void grant(std::uint64_t wanted, Granted granted) override {
        waiting_since_ = std::chrono::steady_clock::now();
        ask(wanted, std::move(granted));
    }

    void settle(std::uint64_t granted, std::uint64_t used) override {
        if (!held_ || granted != held_) log::error(cat("shared quota: settling ", granted, " bytes, but ", held_, " are held"));
        release(held_id_, used);
        held_ = held_id_ = 0;
    }

private:
    void ask(std::uint64_t wanted, Granted granted) {
        auto shared_granted = std::make_shared<Granted>(std::move(granted));
        pool_.submit([this, token = lifetime_.token(), quota = quota_, &reactor = reactor_, &pool = pool_, wanted,
                      shared_granted] {
            auto grant = quota->reserve_shared(wanted);
            reactor.post([this, token, quota, &pool, wanted, shared_granted, grant]() mutable {
                if (!token.valid()) {  // the upload is gone: give back what was reserved for it
                    if (grant && grant->bytes) pool.submit([quota, id = grant->id] { quota->settle_shared(id, 0); });
                    return;
                }
                answered(wanted, std::move(*shared_granted), grant);
            });
        });
    }

    void answered(std::uint64_t wanted, Granted granted, const Result<fs::UsageLedger::Grant>& grant) {
        if (!grant) return granted(grant.error(), 0);
        if (grant->bytes) {
            held_ = grant->bytes;
            held_id_ = grant->id;
            return granted({}, grant->bytes);
        }
        // Full, but others hold reservations they may not use up: wait for them, a bounded time.
        if (grant->held && std::chrono::steady_clock::now() - waiting_since_ < wait_) {
            auto shared_granted = std::make_shared<Granted>(std::move(granted));
            retry_timer_ = reactor_.add_timer(retry_every, lifetime_.guard([this, wanted, shared_granted] {
                retry_timer_ = 0;
                ask(wanted, std::move(*shared_granted));
            }));
            return;
        }
        granted({}, 0);
    }

    void release(std::uint64_t id, std::uint64_t written) {
        pool_.submit([quota = quota_, id, written] { quota->settle_shared(id, written); });
    }

    std::shared_ptr<fs::UserQuota> quota_;
    net::Reactor& reactor_;
    net::WorkerPool& pool_;
    const std::chrono::milliseconds wait_;
    std::uint64_t held_ = 0;     // bytes of the reservation being written into
    std::uint64_t held_id_ = 0;
    std::chrono::steady_clock::time_point waiting_since_;
    net::Reactor::TimerId retry_timer_ = 0;
    Lifetime lifetime_;
};

}  // namespace

std::unique_ptr<UploadBudget> make_shared_quota_budget(std::shared_ptr<fs::UserQuota> quota, net::Reactor& reactor,
                                                       net::WorkerPool& pool, std::chrono::milliseconds wait) {
    return std::make_unique<SharedQuotaBudget>(std::move(quota), reactor, pool, wait);
}

}  // namespace ferry::proto
