#include "auth/defender.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace ferry::auth;
using namespace std::chrono_literals;

namespace {
DefenderSettings settings(unsigned threshold = 3) {
    DefenderSettings s;
    s.ban_threshold = threshold;
    s.ban_window = 600s;
    s.ban_time = 60s;
    s.ban_time_max = 200s;
    s.account_lock_threshold = 5;
    s.trusted_networks = {"192.0.2.0/24", "2001:db8:1::/48"};
    return s;
}
const WallClock::time_point t0 = WallClock::time_point(std::chrono::seconds(1'796'112'900));
}  // namespace

TEST_CASE("networks in CIDR notation") {
    CHECK(Network::parse("192.0.2.0/24")->contains("192.0.2.200"));
    CHECK_FALSE(Network::parse("192.0.2.0/24")->contains("192.0.3.1"));
    CHECK(Network::parse("10.0.0.0/9")->contains("10.127.255.255"));
    CHECK_FALSE(Network::parse("10.0.0.0/9")->contains("10.128.0.0"));
    CHECK(Network::parse("203.0.113.7")->contains("203.0.113.7"));
    CHECK(Network::parse("203.0.113.7")->contains("::ffff:203.0.113.7"));
    CHECK(Network::parse("2001:db8::/32")->contains("2001:db8:ffff::1"));
    CHECK_FALSE(Network::parse("2001:db8::/32")->contains("2001:db9::1"));
    CHECK_FALSE(Network::parse("2001:db8::/32")->contains("32.1.13.184"));
    for (const char* bad : {"", "x", "1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4/a"}) CHECK_FALSE(Network::parse(bad));
}

TEST_CASE("an address is banned at the threshold, for twice as long each time, up to the maximum") {
    Defender d(settings());
    CHECK(d.refusal("203.0.113.7", t0).empty());
    CHECK(d.failed("203.0.113.7", "alice", t0).address_failures == 1);
    CHECK_FALSE(d.failed("203.0.113.7", "bob", t0 + 1s).new_ban);
    const auto third = d.failed("203.0.113.7", "carol", t0 + 2s);
    REQUIRE(third.new_ban);
    CHECK(third.new_ban->until == 1'796'112'902 + 60);
    CHECK(third.new_ban->count == 1);
    CHECK(d.refusal("203.0.113.7", t0 + 3s).starts_with("banned until 2026-12-01T08:16:02Z"));
    CHECK(d.refusal("203.0.113.8", t0 + 3s).empty());
    CHECK(d.refusal("203.0.113.7", t0 + 63s).empty());  // over
    for (int i = 0; i < 3; ++i) d.failed("203.0.113.7", "x", t0 + 100s);
    CHECK(d.bans(t0 + 100s).front().until == 1'796'112'900 + 100 + 120);  // second ban: 2 x 60 s
    for (int i = 0; i < 3; ++i) d.failed("203.0.113.7", "x", t0 + 300s);
    CHECK(d.bans(t0 + 300s).front().until == 1'796'112'900 + 300 + 200);  // capped at ban_time_max
}

TEST_CASE("failures outside the window do not count; IPv6 counts per /64; trusted networks never") {
    Defender d(settings());
    d.failed("203.0.113.9", "a", t0);
    d.failed("203.0.113.9", "a", t0 + 1s);
    CHECK_FALSE(d.failed("203.0.113.9", "a", t0 + 700s).new_ban);
    d.failed("2001:db8:7:7::1", "a", t0);
    d.failed("2001:db8:7:7::2", "a", t0);
    const auto third = d.failed("2001:db8:7:7:ffff::3", "a", t0);
    REQUIRE(third.new_ban);
    CHECK(third.new_ban->group == "2001:db8:7:7::/64");
    CHECK_FALSE(d.refusal("2001:db8:7:7::99", t0).empty());
    CHECK(d.refusal("2001:db8:7:8::1", t0).empty());
    for (int i = 0; i < 10; ++i) CHECK_FALSE(d.failed("192.0.2.5", "a", t0).new_ban);
    CHECK(d.refusal("192.0.2.5", t0).empty());
    CHECK(d.trusted("2001:db8:1:ffff::1"));
}

TEST_CASE("an account with many failures from many addresses is locked, but not for its own addresses") {
    Defender d(settings(100));
    d.succeeded("198.51.100.1", "alice");
    bool locked = false;
    for (int i = 0; i < 5; ++i) locked = d.failed("203.0.113." + std::to_string(i), "alice", t0).account_locked_now;
    CHECK(locked);
    CHECK(d.account_locked("alice", "203.0.113.77", t0 + 1s));
    CHECK_FALSE(d.account_locked("alice", "198.51.100.1", t0 + 1s));  // where alice logged in before
    CHECK_FALSE(d.account_locked("bob", "203.0.113.77", t0 + 1s));
    CHECK_FALSE(d.account_locked("alice", "203.0.113.77", t0 + 61s));
}

TEST_CASE("bans round-trip through the bans file; unsaved bans survive a reload") {
    const ferry::testing::TempDir dir("bans");
    const std::string path = dir.file("bans.toml");
    std::string error;
    REQUIRE(modify_bans(path, [](std::vector<Ban>& bans) {
        bans.push_back(Ban{"203.0.113.7", 1'796'113'000, 2, "20 failed logins in 600 s"});
        bans.push_back(Ban{"2001:db8::/64", 1'796'114'000, 1, "x"});
        return true;
    }, &error) == 0);
    auto loaded = load_bans(path, &error);
    REQUIRE_MESSAGE(loaded.ok(), error);
    REQUIRE(loaded->size() == 2);
    Defender d(settings());
    d.set_bans(*loaded);
    CHECK_FALSE(d.refusal("203.0.113.7", t0).empty());
    CHECK_FALSE(d.refusal("2001:db8::5", t0).empty());
    for (int i = 0; i < 3; ++i) d.failed("198.51.100.9", "x", t0);  // banned here, not yet written
    d.set_bans({});
    CHECK(d.refusal("203.0.113.7", t0).empty());
    CHECK_FALSE(d.refusal("198.51.100.9", t0).empty());
    d.mark_saved("198.51.100.9");
    d.set_bans({});
    CHECK(d.refusal("198.51.100.9", t0).empty());
}
