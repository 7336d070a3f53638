// The client's readers of listings and of the sync command line.
#include "client/completion.hpp"
#include "client/errors.hpp"
#include "client/sync.hpp"
#include "client/tree.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace ferry::client;

TEST_CASE("MLSD lines: type, size, time and the server's kept digest") {
    const auto file = parse_mlsd_line("type=file;Size=1234;modify=20261127042500;X.md5=ABCdef;perm=r; my file.txt", "x.md5");
    REQUIRE(file);
    CHECK(file->first == "my file.txt");
    CHECK(file->second.type == EntryType::file);
    CHECK(file->second.size == 1234);
    CHECK(file->second.mtime == 1795753500);
    CHECK(file->second.digest == "abcdef");
    const auto folder = parse_mlsd_line("type=dir;modify=20261127042500; docs", "x.md5");
    REQUIRE(folder);
    CHECK(folder->second.type == EntryType::folder);
    CHECK_FALSE(folder->second.digest);
    CHECK(parse_mlsd_line("type=OS.unix=symlink; link", "")->second.type == EntryType::other);
    CHECK(parse_mlsd_line("type=file;X.md5=ab; a", "")->second.digest == std::nullopt);  // not asked for
    CHECK_FALSE(parse_mlsd_line("type=cdir; .", ""));
    CHECK_FALSE(parse_mlsd_line("type=pdir; ..", ""));
    CHECK_FALSE(parse_mlsd_line("size=1; untyped", ""));
    CHECK_FALSE(parse_mlsd_line("no-facts-at-all", ""));
    CHECK_FALSE(parse_mlsd_line(" leading space", ""));
}

TEST_CASE("ls -l lines from servers without MLSD") {
    const auto file = parse_list_line("-rw-r--r--    1 ftp      ftp          4096 Nov 27 04:25 a name with spaces");
    REQUIRE(file);
    CHECK(file->first == "a name with spaces");
    CHECK(file->second.type == EntryType::file);
    CHECK(file->second.size == 4096);
    CHECK(file->second.mtime == -1);
    CHECK(parse_list_line("drwxr-xr-x 2 u g 4096 Jan  1  2024 docs")->second.type == EntryType::folder);
    CHECK(parse_list_line("lrwxrwxrwx 1 u g 7 Jan  1  2024 l -> target")->second.type == EntryType::other);
    CHECK_FALSE(parse_list_line("total 12"));
    CHECK_FALSE(parse_list_line("-rw-r--r-- 1 u g 12 Nov 27 04:25"));
}

TEST_CASE("joined paths") {
    CHECK(join_path("", "a") == "a");
    CHECK(join_path("/", "a") == "/a");
    CHECK(join_path("x/y", "a") == "x/y/a");
    CHECK(join_path("x/", "a") == "x/a");
}

TEST_CASE("sync's command line") {
    const SyncRequest up = parse_sync({"up", "here", "there", "--delete", "--yes", "--size-only"});
    CHECK(up.direction == Direction::up);
    CHECK(up.local == "here");
    CHECK(up.remote == "there");
    CHECK(up.remove);
    CHECK(up.yes);
    CHECK_FALSE(up.dry_run);
    CHECK(up.compare == Compare::size_only);
    const SyncRequest down = parse_sync({"--dry-run", "down", "a", "b", "--checksum-only"});
    CHECK(down.direction == Direction::down);
    CHECK(down.dry_run);
    CHECK(down.compare == Compare::checksum_only);
    CHECK_THROWS_AS(parse_sync({"sideways", "a", "b"}), ClientError);
    CHECK_THROWS_AS(parse_sync({"up", "a"}), ClientError);
    CHECK_THROWS_AS(parse_sync({"up", "a", "b", "c"}), ClientError);
    CHECK_THROWS_AS(parse_sync({"up", "a", "b", "--frobnicate"}), ClientError);
}

TEST_CASE("tab completion: which side each argument names") {
    using W = std::vector<std::string>;
    CHECK(side_of_word(W{}) == PathSide::none);
    CHECK(side_of_word(W{"put"}) == PathSide::local);
    CHECK(side_of_word(W{"put", "a.txt"}) == PathSide::remote);
    CHECK(side_of_word(W{"put", "-r"}) == PathSide::local);
    CHECK(side_of_word(W{"put", "-r", "dir"}) == PathSide::remote);
    CHECK(side_of_word(W{"get"}) == PathSide::remote);
    CHECK(side_of_word(W{"get", "a.txt"}) == PathSide::local);
    CHECK(side_of_word(W{"sync"}) == PathSide::none);  // up or down
    CHECK(side_of_word(W{"sync", "up"}) == PathSide::local);
    CHECK(side_of_word(W{"sync", "up", "here"}) == PathSide::remote);
    CHECK(side_of_word(W{"lcd"}) == PathSide::local);
    CHECK(side_of_word(W{"cd"}) == PathSide::remote);
    CHECK(side_of_word(W{"mget"}) == PathSide::remote);
    CHECK(side_of_word(W{"quota"}) == PathSide::none);
    const auto& names = command_names();
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::find(names.begin(), names.end(), "sync") != names.end());
}
