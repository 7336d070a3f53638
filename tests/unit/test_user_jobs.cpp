#include "proto/user_jobs.hpp"

#include <doctest/doctest.h>

#include <vector>

using ferry::proto::UserJobs;

TEST_CASE("UserJobs caps the jobs per user and frees a slot when its job ends") {
    UserJobs jobs(2);
    std::vector<UserJobs::Slot> alice;
    for (int i = 0; i < 2; ++i) {
        auto slot = jobs.try_start("alice");
        REQUIRE(slot);
        alice.push_back(std::move(*slot));
    }
    CHECK_FALSE(jobs.try_start("alice"));
    CHECK(jobs.try_start("bob"));  // another user is not affected (and that slot ends here)
    alice.pop_back();
    auto again = jobs.try_start("alice");
    CHECK(again);
    CHECK_FALSE(jobs.try_start("alice"));
}
