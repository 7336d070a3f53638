// Returning logins that skip argon2id (auth/verified_passwords.hpp).
#include "auth/password.hpp"
#include "auth/verified_passwords.hpp"

#include <doctest/doctest.h>

using namespace ferry::auth;
using namespace std::chrono_literals;

namespace {
const std::string hash_a = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aaaa";
const std::string hash_b = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$bbbb";
}  // namespace

TEST_CASE("a password that verified matches for its account, within the TTL only") {
    REQUIRE(init_crypto());
    VerifiedPasswords cache(300s);
    const auto t0 = VerifiedPasswords::Clock::now();
    CHECK_FALSE(cache.matches("alice", hash_a, "secret-1", t0));  // nothing verified yet
    cache.remember("alice", hash_a, "secret-1", t0);
    CHECK(cache.matches("alice", hash_a, "secret-1", t0 + 299s));
    CHECK_FALSE(cache.matches("alice", hash_a, "secret-1", t0 + 300s));  // counted from the verification
    CHECK_FALSE(cache.matches("alice", hash_a, "secret-1", t0 + 1s));    // and gone once expired
    CHECK(cache.size() == 0);
}

TEST_CASE("any other password, account or stored hash misses") {
    REQUIRE(init_crypto());
    VerifiedPasswords cache(300s);
    const auto t0 = VerifiedPasswords::Clock::now();
    cache.remember("alice", hash_a, "secret-1", t0);
    CHECK_FALSE(cache.matches("alice", hash_a, "secret-2", t0));
    CHECK_FALSE(cache.matches("alice", hash_a, "", t0));
    CHECK_FALSE(cache.matches("alice", hash_a, "secret-1x", t0));
    CHECK_FALSE(cache.matches("bob", hash_a, "secret-1", t0));
    CHECK_FALSE(cache.matches("alice", hash_b, "secret-1", t0));  // the password was changed
    CHECK_FALSE(cache.matches("alice", "", "secret-1", t0));
    // A wrong guess leaves the owner's entry alone.
    CHECK(cache.matches("alice", hash_a, "secret-1", t0));
    // Parts are length-prefixed: moving bytes between user and password is no match.
    cache.remember("ab", hash_a, "c", t0);
    CHECK_FALSE(cache.matches("a", hash_a, "bc", t0));
}

TEST_CASE("a new verification replaces the last one") {
    REQUIRE(init_crypto());
    VerifiedPasswords cache(60s);
    const auto t0 = VerifiedPasswords::Clock::now();
    cache.remember("alice", hash_a, "old", t0);
    cache.remember("alice", hash_b, "new", t0 + 10s);
    CHECK_FALSE(cache.matches("alice", hash_a, "old", t0 + 11s));
    CHECK(cache.matches("alice", hash_b, "new", t0 + 69s));
    CHECK(cache.size() == 1);
}

TEST_CASE("ttl 0 remembers nothing, and a full cache makes room only from expired entries") {
    REQUIRE(init_crypto());
    const auto t0 = VerifiedPasswords::Clock::now();
    VerifiedPasswords off(0s);
    off.remember("alice", hash_a, "secret-1", t0);
    CHECK_FALSE(off.matches("alice", hash_a, "secret-1", t0));
    CHECK(off.size() == 0);

    VerifiedPasswords small(10s, 2);
    small.remember("a", hash_a, "p", t0);
    small.remember("b", hash_a, "p", t0 + 5s);
    small.remember("c", hash_a, "p", t0 + 6s);  // full of live entries: not remembered
    CHECK_FALSE(small.matches("c", hash_a, "p", t0 + 6s));
    CHECK(small.matches("a", hash_a, "p", t0 + 6s));
    small.remember("c", hash_a, "p", t0 + 11s);  // "a" has expired: room for "c"
    CHECK(small.matches("c", hash_a, "p", t0 + 12s));
    CHECK(small.size() == 2);
}
