#include "fs/home_folders.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace ferry;

TEST_CASE("retire_home moves a home into .deleted under a timestamped name, never over another") {
    const testing::TempDir dir("home-folders");
    const std::string root = dir.path;
    std::filesystem::create_directories(root + "/bob/sub");
    std::ofstream(root + "/bob/sub/f") << "x";
    const std::time_t now = 1796112900;  // 2026-12-01T08:15:00Z
    auto first = fs::retire_home(root, "bob", "bob", now);
    REQUIRE(first.ok());
    CHECK(*first == root + "/.deleted/bob-20261201T081500Z");
    CHECK(std::filesystem::exists(*first + "/sub/f"));
    CHECK_FALSE(*fs::home_exists(root, "bob"));
    std::filesystem::create_directories(root + "/bob");  // a second bob deleted in the same second
    auto second = fs::retire_home(root, "bob", "bob", now);
    REQUIRE(second.ok());
    CHECK(*second == root + "/.deleted/bob-20261201T081500Z.2");
    CHECK(std::filesystem::exists(*first + "/sub/f"));
    CHECK(fs::retire_home(root, "bob", "bob", now).error() == ENOENT);
}

TEST_CASE("prune_retired_homes removes what is older than the retention, by the time in the name") {
    const testing::TempDir dir("home-folders");
    const std::string root = dir.path;
    std::filesystem::create_directories(root + "/.deleted/old-20261001T000000Z/x");
    std::filesystem::create_directories(root + "/.deleted/new-20261130T000000Z");
    std::filesystem::create_directories(root + "/.deleted/hand-made");
    const std::time_t now = 1796112900;
    CHECK(fs::retired_at("old-20261001T000000Z") == 1790812800);
    CHECK(fs::retired_at("a-b-20261130T000000Z.3") == 1795996800);
    CHECK(fs::retired_at("hand-made") == -1);
    CHECK(fs::prune_retired_homes(root, std::chrono::hours(24 * 30), now) == 1);
    CHECK_FALSE(std::filesystem::exists(root + "/.deleted/old-20261001T000000Z"));
    CHECK(std::filesystem::exists(root + "/.deleted/new-20261130T000000Z"));
    CHECK(std::filesystem::exists(root + "/.deleted/hand-made"));
}
