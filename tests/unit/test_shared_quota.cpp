// The upload budget of a quota shared by several nodes (proto/shared_quota_budget.hpp), against a
// fake of our own UsageLedger interface: grants arrive from the pool through the loop, a full
// quota held by others is asked again for a bounded time, and no reservation is ever left behind.
#include "proto/shared_quota_budget.hpp"

#include "support/run_loop.hpp"

#include <doctest/doctest.h>

#include <mutex>
#include <thread>
#include <vector>

using namespace ferry;
using namespace std::chrono_literals;

namespace {

// Usage in memory, as the database keeps it: reservations by id, with their bytes.
class FakeLedger final : public fs::UsageLedger {
public:
    explicit FakeLedger(std::uint64_t limit) : limit_(limit) {}
    Result<Grant> reserve(const std::string&, std::uint64_t wanted) override {
        std::lock_guard lock(mutex_);
        ++asked;
        if (unreachable) return Errc::not_connected;
        std::uint64_t held = 0;
        for (const auto& [id, bytes] : reservations) held += bytes;
        const std::uint64_t left = limit_ > used + held ? limit_ - used - held : 0;
        const std::uint64_t granted = std::min(wanted, left);
        if (granted == 0) return Grant{.id = 0, .bytes = 0, .held = held, .used = used};
        reservations.emplace_back(++next_id_, granted);
        return Grant{.id = next_id_, .bytes = granted, .held = held, .used = used};
    }
    Result<std::uint64_t> settle(const std::string&, std::uint64_t id, std::uint64_t written) override {
        std::lock_guard lock(mutex_);
        std::erase_if(reservations, [&](const auto& r) { return r.first == id; });
        used += written;
        settled.push_back(id);
        return used;
    }
    Status adjust(const std::string&, std::int64_t) override { return {}; }
    Result<std::optional<std::uint64_t>> stored_usage(const std::string&) override { return std::optional<std::uint64_t>(0); }
    Result<std::uint64_t> record_measurement(const std::string&, std::uint64_t measured) override { return measured; }

    std::size_t held_count() {
        std::lock_guard lock(mutex_);
        return reservations.size();
    }

    std::mutex mutex_;
    std::uint64_t limit_;
    std::uint64_t used = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> reservations;
    std::vector<std::uint64_t> settled;
    int asked = 0;
    bool unreachable = false;

private:
    std::uint64_t next_id_ = 0;
};

struct Rig {
    explicit Rig(std::uint64_t limit) : ledger(std::make_shared<FakeLedger>(limit)) {
        quota = std::make_shared<fs::UserQuota>(limit, "alice", ledger, [this](std::function<void()> job) { pool.submit(job); });
    }
    std::unique_ptr<proto::UploadBudget> budget(std::chrono::milliseconds wait = 300ms) {
        return proto::make_shared_quota_budget(quota, reactor, pool, wait);
    }
    // Asks for `wanted` and runs the loop until the answer comes.
    std::pair<Error, std::uint64_t> grant(proto::UploadBudget& budget, std::uint64_t wanted) {
        std::pair<Error, std::uint64_t> answer{Errc::other, 0};
        bool answered = false;
        budget.grant(wanted, [&](Error err, std::uint64_t bytes) {
            answer = {err, bytes};
            answered = true;
            reactor.stop();
        });
        CHECK_FALSE(answered);  // never from inside the call
        REQUIRE(testing::run_until_stopped(reactor, 5s));
        return answer;
    }
    net::Reactor reactor;
    net::WorkerPool pool{2};
    std::shared_ptr<FakeLedger> ledger;
    std::shared_ptr<fs::UserQuota> quota;
};

// Pool jobs (settles) run after the loop handed them over; wait for them.
void wait_for(const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(2ms);
    CHECK(done());
}

}  // namespace

TEST_CASE("A shared budget grants what the ledger grants and settles what was written") {
    Rig rig(10);
    auto budget = rig.budget();
    const auto [err, bytes] = rig.grant(*budget, 4);
    CHECK_FALSE(err);
    CHECK(bytes == 4);
    CHECK(rig.ledger->held_count() == 1);
    budget->settle(4, 3);
    wait_for([&] { return rig.ledger->used == 3 && rig.ledger->held_count() == 0; });
    CHECK(rig.grant(*budget, 100).second == 7);  // what is left
    CHECK(rig.quota->used() == 3);               // the ledger's figure, for AVBL and SITE QUOTA
}

TEST_CASE("A full quota held by another upload is asked again until it frees space or the wait ends") {
    Rig rig(8);
    auto other = rig.budget();
    REQUIRE(rig.grant(*other, 8).second == 8);
    auto budget = rig.budget(2000ms);
    // The other upload writes 5 of its 8 bytes after a while: 3 become free for this one.
    std::thread settler([&] {
        std::this_thread::sleep_for(150ms);
        rig.reactor.post([&] { other->settle(8, 5); });
    });
    const auto started = std::chrono::steady_clock::now();
    const auto [err, bytes] = rig.grant(*budget, 4);
    settler.join();
    CHECK_FALSE(err);
    CHECK(bytes == 3);
    CHECK(std::chrono::steady_clock::now() - started >= 150ms);
    CHECK(rig.ledger->asked > 2);

    // Nothing held by others any more and nothing left: 0 at once, no waiting.
    budget->settle(3, 3);
    wait_for([&] { return rig.ledger->held_count() == 0; });
    const auto again = std::chrono::steady_clock::now();
    CHECK(rig.grant(*budget, 4).second == 0);
    CHECK(std::chrono::steady_clock::now() - again < 1000ms);
}

TEST_CASE("A held quota that never frees gives 0 after the wait") {
    Rig rig(4);
    auto other = rig.budget();
    REQUIRE(rig.grant(*other, 4).second == 4);
    auto budget = rig.budget(200ms);
    const auto started = std::chrono::steady_clock::now();
    CHECK(rig.grant(*budget, 4).second == 0);
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
}

TEST_CASE("A budget destroyed with a grant in flight or unsettled gives the reservation back") {
    Rig rig(10);
    SUBCASE("in flight") {
        auto budget = rig.budget();
        budget->grant(4, [](Error, std::uint64_t) { FAIL("answered after destruction"); });
        budget.reset();
        testing::run_for(rig.reactor, 100ms);  // the answer arrives and finds no budget
    }
    SUBCASE("granted, never settled") {
        auto budget = rig.budget();
        REQUIRE(rig.grant(*budget, 4).second == 4);
        budget.reset();
    }
    wait_for([&] { return rig.ledger->held_count() == 0 && rig.ledger->settled.size() == 1; });
    CHECK(rig.ledger->used == 0);
}

TEST_CASE("A ledger that cannot be reached is an error, not a full quota") {
    Rig rig(10);
    rig.ledger->unreachable = true;
    auto budget = rig.budget();
    const auto [err, bytes] = rig.grant(*budget, 4);
    CHECK(err == Errc::not_connected);
    CHECK(bytes == 0);
}
