// max_sessions_per_user's count (auth/user_sessions.hpp): per account without case on one node,
// and through a fake of our own SessionLedger interface for several nodes.
#include "auth/user_sessions.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace ferry;
using auth::UserSessions;

namespace {

class FakeSessionLedger final : public auth::SessionLedger {
public:
    Result<bool> take(const std::string& user, unsigned limit) override {
        if (unreachable) return Errc::not_connected;
        taken.push_back(user);
        return count < limit ? (++count, true) : false;
    }
    Status give_back(const std::string& user) override {
        given_back.push_back(user);
        --count;
        return {};
    }
    unsigned count = 0;  // all nodes together
    bool unreachable = false;
    std::vector<std::string> taken, given_back;
};

}  // namespace

TEST_CASE("One node: a slot per session up to the limit, names without case, places given back") {
    UserSessions sessions;
    auto first = sessions.try_take("alice", 2);
    auto second = sessions.try_take("Alice", 2);
    REQUIRE(first.ok());
    REQUIRE(*first);
    REQUIRE(*second);
    auto third = sessions.try_take("ALICE", 2);
    REQUIRE(third.ok());
    CHECK_FALSE(*third);  // refused, not an error
    CHECK(sessions.count("alice") == 2);
    CHECK(*sessions.try_take("bob", 2));  // another account
    first->reset();
    CHECK(sessions.count("alice") == 1);
    CHECK(*sessions.try_take("alice", 2));
    // No limit: no counting, no slot.
    auto unlimited = sessions.try_take("carol", 0);
    REQUIRE(unlimited.ok());
    CHECK_FALSE(*unlimited);
    CHECK(sessions.count("carol") == 0);
}

TEST_CASE("Several nodes: the ledger decides, a slot gives back through the pool, no database = error") {
    auto ledger = std::make_shared<FakeSessionLedger>();
    std::vector<std::function<void()>> background;
    UserSessions sessions;
    sessions.share_through(ledger, [&](std::function<void()> job) { background.push_back(std::move(job)); });
    ledger->count = 2;  // two sessions of alice on other nodes
    auto here = sessions.try_take("alice", 3);
    REQUIRE(here.ok());
    REQUIRE(*here);
    auto refused = sessions.try_take("alice", 3);
    REQUIRE(refused.ok());
    CHECK_FALSE(*refused);
    CHECK(ledger->taken == std::vector<std::string>{"alice", "alice"});
    here->reset();
    CHECK(ledger->given_back.empty());  // not on the calling (reactor) thread
    REQUIRE(background.size() == 1);
    background[0]();
    CHECK(ledger->given_back == std::vector<std::string>{"alice"});
    ledger->unreachable = true;
    auto failed = sessions.try_take("alice", 3);
    CHECK(failed.error() == Errc::not_connected);
}
