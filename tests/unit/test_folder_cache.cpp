// FolderCache: what a home keeps of its folders' handles, and when it lets go.
#include "fs/folder_cache.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

using namespace ferry;
using ferry::fs::FolderCache;

namespace {
std::shared_ptr<const File> handle() { return std::make_shared<const File>(); }
}  // namespace

TEST_CASE("FolderCache finds what it keeps, until forgotten beneath a folder") {
    FolderCache cache(std::chrono::seconds(60));
    auto a = handle(), ab = handle(), abc = handle(), ax = handle();
    cache.keep("/a", a);
    cache.keep("/a/b", ab);
    cache.keep("/a/b/c", abc);
    cache.keep("/ab", ax);  // a sibling whose name starts the same
    CHECK(cache.find("/a/b") == ab);
    CHECK(cache.find("/nope") == nullptr);

    cache.forget_beneath("/a/b");
    CHECK(cache.find("/a/b") == nullptr);
    CHECK(cache.find("/a/b/c") == nullptr);
    CHECK(cache.find("/a") == a);
    CHECK(cache.find("/ab") == ax);

    cache.forget_beneath("/");
    CHECK(cache.find("/a") == nullptr);
    CHECK(cache.find("/ab") == nullptr);
}

TEST_CASE("FolderCache entries expire, and the oldest makes room when full") {
    FolderCache cache(std::chrono::milliseconds(40));
    auto first = handle();
    cache.keep("/first", first);
    CHECK(cache.find("/first") == first);
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    CHECK(cache.find("/first") == nullptr);

    FolderCache full(std::chrono::seconds(60));
    full.keep("/0", handle());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (std::size_t i = 1; i <= FolderCache::capacity; ++i) full.keep("/" + std::to_string(i), handle());
    CHECK(full.find("/0") == nullptr);  // the oldest went
    CHECK(full.find("/1") != nullptr);
    CHECK(full.find("/" + std::to_string(FolderCache::capacity)) != nullptr);
}
