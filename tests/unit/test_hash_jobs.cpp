#include "proto/hash_jobs.hpp"

#include <doctest/doctest.h>

#include <vector>

using ferry::proto::HashJobs;

TEST_CASE("HashJobs caps the jobs per user and frees a slot when its job ends") {
    HashJobs jobs(2);
    std::vector<HashJobs::Slot> alice;
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
