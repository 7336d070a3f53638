#include "fs/quota.hpp"

#include "fs/home.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

using namespace ferry;
using fs::UserQuota;

namespace {

void write_file(const std::string& path, std::size_t bytes) {
    std::ofstream out(path, std::ios::binary);
    out << std::string(bytes, 'x');
    REQUIRE(out.good());
}

fs::Home open_home(const std::string& path) {
    auto home = fs::Home::open(path, false);
    REQUIRE(home.ok());
    return std::move(*home);
}

// A limit as the accounts file would give it.
fs::QuotaRegistry::LimitSource limit_of(std::uint64_t limit) {
    return [limit] { return limit; };
}

}  // namespace

TEST_CASE("reserve grants what is free and settle turns it into used") {
    UserQuota quota(1000);
    CHECK(quota.free() == 1000);
    CHECK(quota.reserve(400) == 400);
    CHECK(quota.reserved() == 400);
    CHECK(quota.free() == 600);
    CHECK(quota.reserve(800) == 600);  // only what is left
    CHECK(quota.reserve(1) == 0);      // full
    quota.settle(400, 400);
    quota.settle(600, 100);            // a short write gives the rest back
    CHECK(quota.used() == 500);
    CHECK(quota.reserved() == 0);
    CHECK(quota.free() == 500);
}

TEST_CASE("a lower limit applies to the next reserve and free() never goes negative") {
    UserQuota quota(1000);
    CHECK(quota.reserve(600) == 600);
    quota.settle(600, 600);
    quota.set_limit(500);
    CHECK(quota.limit() == 500);
    CHECK(quota.free() == 0);
    CHECK(quota.reserve(10) == 0);
    quota.adjust(-200);  // deleting a file frees space below the new limit
    CHECK(quota.used() == 400);
    CHECK(quota.reserve(1000) == 100);
}

TEST_CASE("adjust never takes used below zero") {
    UserQuota quota(1000);
    quota.adjust(300);
    CHECK(quota.used() == 300);
    quota.adjust(-1000);
    CHECK(quota.used() == 0);
    quota.adjust(INT64_MIN);
    CHECK(quota.used() == 0);
}

TEST_CASE("an unlimited quota grants everything and reports unlimited free space") {
    UserQuota quota(unlimited_bytes);
    CHECK(quota.free() == unlimited_bytes);
    CHECK(quota.reserve(5ull << 40) == 5ull << 40);
    quota.settle(5ull << 40, 5ull << 40);
    CHECK(quota.used() == 5ull << 40);
    CHECK(quota.free() == unlimited_bytes);
    quota.set_limit(1ull << 40);  // limited later: already over it
    CHECK(quota.free() == 0);
    CHECK(quota.reserve(1) == 0);
}

TEST_CASE("concurrent uploads in chunks never pass the limit together") {
    constexpr std::uint64_t limit = 10'000'000;
    constexpr int uploaders = 8;
    UserQuota quota(limit);
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> worst_seen{0};

    // Watches used + reserved from outside while the uploaders run.
    std::thread watcher([&] {
        while (!done.load()) {
            // used first: it only grows here, so this order can only under-count, never double-count
            // bytes that move from reserved to used in between.
            const std::uint64_t used = quota.used();
            const std::uint64_t committed = used + quota.reserved();
            std::uint64_t worst = worst_seen.load();
            while (committed > worst && !worst_seen.compare_exchange_weak(worst, committed)) {}
        }
    });
    std::atomic<std::uint64_t> written_total{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < uploaders; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 random(static_cast<unsigned>(t));
            for (;;) {
                const std::uint64_t granted = quota.reserve(1 + random() % 70'000);
                if (granted == 0) break;  // 552: quota full
                // The write takes a while, so other uploads reserve while this one holds bytes.
                std::this_thread::sleep_for(std::chrono::microseconds(random() % 50));
                // Sometimes the disk takes less than was reserved (short write, error).
                const std::uint64_t written = random() % 4 == 0 ? granted / 2 : granted;
                quota.settle(granted, written);
                written_total += written;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    done = true;
    watcher.join();

    CHECK(quota.used() == written_total.load());
    CHECK(quota.used() == limit);  // each kept going until nothing was left
    CHECK(quota.reserved() == 0);
    CHECK(worst_seen.load() <= limit);
}

TEST_CASE("ensure_measured takes used from the home once") {
    const testing::TempDir dir("quota");
    write_file(dir.path + "/a", 1000);
    std::filesystem::create_directory(dir.path + "/sub");
    write_file(dir.path + "/sub/b", 234);
    const fs::Home home = open_home(dir.path);

    UserQuota quota(1 << 20);
    CHECK_FALSE(quota.measured());
    CHECK(quota.ensure_measured(home) == 0);
    CHECK(quota.measured());
    CHECK(quota.used() == 1234);

    // Later calls keep the in-memory figure instead of scanning again.
    write_file(dir.path + "/c", 5000);
    quota.adjust(-34);
    CHECK(quota.ensure_measured(home) == 0);
    CHECK(quota.used() == 1200);
}

TEST_CASE("a failed measurement is reported and retried by the next call") {
    const testing::TempDir dir("quota");
    write_file(dir.path + "/a", 77);
    const fs::Home broken;  // no folder open: usage() fails
    UserQuota quota(1000);
    CHECK(quota.ensure_measured(broken) != 0);
    CHECK_FALSE(quota.measured());
    CHECK(quota.ensure_measured(open_home(dir.path)) == 0);
    CHECK(quota.used() == 77);
}

TEST_CASE("callers that arrive during the measurement wait for its result") {
    const testing::TempDir dir("quota");
    constexpr int files = 3000;  // a scan that takes long enough for the callers to overlap
    for (int i = 0; i < files; ++i) write_file(dir.path + "/f" + std::to_string(i), 10);
    const fs::Home home = open_home(dir.path);

    UserQuota quota(unlimited_bytes);
    std::atomic<int> ready{0};
    std::vector<std::uint64_t> seen(6);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < seen.size(); ++t) {
        threads.emplace_back([&, t] {
            ++ready;
            while (ready.load() < static_cast<int>(seen.size())) {}
            // Nobody may return before used() holds the measured figure.
            seen[t] = quota.ensure_measured(home) == 0 ? quota.used() : 0;
        });
    }
    for (auto& thread : threads) thread.join();
    for (std::uint64_t used : seen) CHECK(used == files * 10);
}

TEST_CASE("QuotaRegistry shares one quota per user and updates its limit") {
    fs::QuotaRegistry registry;
    CHECK(registry.find("alice") == nullptr);
    auto first = registry.for_user("alice", limit_of(1000));
    CHECK(first->reserve(300) == 300);
    first->settle(300, 300);

    auto second = registry.for_user("alice", limit_of(2000));  // a second session, after SETQUOTA
    CHECK(second == first);
    CHECK(first->limit() == 2000);
    CHECK(second->used() == 300);
    CHECK(registry.find("alice") == first);
    CHECK(registry.for_user("bob", limit_of(10)) != first);

    registry.forget("alice");
    CHECK(registry.find("alice") == nullptr);
    CHECK(first->used() == 300);  // sessions keep their copy
    CHECK(registry.for_user("alice", limit_of(1000))->used() == 0);
    CHECK(registry.find("bob")->limit() == 10);
}

TEST_CASE("QuotaRegistry reads a limit source when it sets the limit, not before") {
    fs::QuotaRegistry registry;
    std::uint64_t in_accounts_file = 100;
    const fs::QuotaRegistry::LimitSource read_file = [&] { return in_accounts_file; };
    CHECK_FALSE(registry.refresh_limit("carol", read_file));  // no sessions, nothing to update

    auto quota = registry.for_user("carol", read_file);
    CHECK(quota->limit() == 100);
    in_accounts_file = 500;  // SITE SETQUOTA rewrote the file
    CHECK(registry.refresh_limit("carol", read_file));
    CHECK(quota->limit() == 500);
    // A login that looked up the account before the change still sets what the file says now.
    CHECK(registry.for_user("carol", read_file)->limit() == 500);
}
