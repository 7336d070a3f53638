// The bandwidth limit's token bucket, on a clock the test moves.
#include "proto/rate_limit.hpp"

#include <doctest/doctest.h>

using namespace ferry::proto;
using namespace std::chrono_literals;

TEST_CASE("a token bucket hands out its rate per second, in slices no larger than a tenth of it") {
    const auto t0 = TokenBucket::Clock::time_point{} + 1h;
    TokenBucket bucket(1'000'000, t0);  // 1 MB/s: bursts of 100 kB
    auto first = bucket.take(10'000'000, t0);
    CHECK(first.bytes == 100'000);
    auto empty = bucket.take(10'000'000, t0);
    CHECK(empty.bytes == 0);
    CHECK(empty.wait >= 25ms);  // a quarter of a burst at 1 MB/s, rounded up
    CHECK(empty.wait <= 26ms);
    // Over ten simulated seconds, in slices as a transfer asks: the rate, plus one burst.
    std::uint64_t moved = first.bytes;
    auto now = t0;
    while (now < t0 + 10s) {
        auto taken = bucket.take(1 << 20, now);
        moved += taken.bytes;
        now += taken.bytes ? 0ms : taken.wait;
    }
    CHECK(moved >= 10'000'000);
    CHECK(moved <= 10'000'000 + 100'000 + 250'001);
}

TEST_CASE("bytes given back are taken again; a small rest is not held up for a big slice") {
    const auto t0 = TokenBucket::Clock::time_point{} + 1h;
    TokenBucket bucket(100 * 1024, t0);  // 100 KiB/s: bursts of 16 KiB (the minimum)
    CHECK(bucket.take(1 << 20, t0).bytes == 16 * 1024);
    bucket.give_back(4096);
    CHECK(bucket.take(1 << 20, t0).bytes == 4096);
    CHECK(bucket.take(1, t0).bytes == 0);
    CHECK(bucket.take(1, t0 + 1ms).bytes == 1);  // 102 bytes came in; one is enough for one
}

TEST_CASE("a new rate applies from now on and trims what the bucket holds") {
    const auto t0 = TokenBucket::Clock::time_point{} + 1h;
    TokenBucket bucket(10 << 20, t0);
    bucket.set_rate(100 * 1024);
    CHECK(bucket.rate() == 100 * 1024);
    CHECK(bucket.take(1 << 30, t0).bytes <= 16 * 1024);
}

TEST_CASE("the accounts' buckets: one per account and direction, none without a rate") {
    UserRates rates;
    CHECK(rates.bucket("alice", UserRates::Direction::download, 0) == nullptr);
    auto a = rates.bucket("alice", UserRates::Direction::download, 1000);
    auto b = rates.bucket("alice", UserRates::Direction::download, 2000);  // the same, at its new rate
    CHECK(a == b);
    CHECK(a->rate() == 2000);
    CHECK(rates.bucket("alice", UserRates::Direction::upload, 1000) != a);
    CHECK(rates.bucket("bob", UserRates::Direction::download, 1000) != a);
}

TEST_CASE("a change of the accounts reaches the buckets of transfers under way") {
    UserRates rates;
    auto alice = rates.bucket("alice", UserRates::Direction::download, 1000);
    auto bob = rates.bucket("bob", UserRates::Direction::upload, 1000);
    rates.refresh([](const std::string& user, UserRates::Direction) -> std::optional<std::uint64_t> {
        if (user == "alice") return 5000;
        return 0;  // bob's rate was taken away
    });
    CHECK(alice->rate() == 5000);
    CHECK(bob->rate() >= (std::uint64_t{1} << 40));
}
