// The log writer (base/log.cpp): lines from many threads reach the file whole and, per thread, in
// order; finish() writes what is queued before it returns.
#include "base/log.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace ferry;

TEST_CASE("log lines from four threads reach the file whole and in each thread's order") {
    testing::TempDir dir{"log"};
    const std::string path = dir.file("ferryd.log");
    REQUIRE(log::open(path));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([t] {
            for (int i = 0; i < 2000; ++i) log::info(cat("writer ", t, " line ", i));
        });
    for (auto& thread : threads) thread.join();
    log::finish();  // everything queued is in the file now; later lines are written at once
    log::info("after finish");
    std::ifstream in(path);
    std::map<int, int> next;
    std::string line;
    int lines = 0;
    bool after = false;
    while (std::getline(in, line)) {
        ++lines;
        if (line.ends_with(" info after finish")) after = true;
        const auto at = line.find(" info writer ");
        if (at == std::string::npos) continue;
        std::istringstream words(line.substr(at + 13));
        int t = -1, i = -1;
        std::string word;
        words >> t >> word >> i;
        REQUIRE(word == "line");
        CHECK(i == next[t]);
        next[t] = i + 1;
    }
    in.close();
    // Back to stderr: the file is closed, so the folder can go (Windows refuses to remove an open
    // file) and the other tests' lines are not lost in it.
    REQUIRE(log::open("-"));
    log::info("on stderr again");
    std::ifstream again(path);
    int lines_after = 0;
    while (std::getline(again, line)) ++lines_after;
    CHECK(lines_after == lines);
    for (int t = 0; t < 4; ++t) CHECK(next[t] == 2000);
    CHECK(after);
    CHECK(lines == 8001);
}

TEST_CASE("JSON strings: escapes, and bytes that are not UTF-8 replaced") {
    using ferry::log::json_escaped;
    CHECK(json_escaped("plain") == "plain");
    CHECK(json_escaped("a\"b\\c") == "a\\\"b\\\\c");
    CHECK(json_escaped("line\nbreak\r\t\x01") == "line\\u000abreak\\u000d\\u0009\\u0001");
    CHECK(json_escaped("gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80") == "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80");
    CHECK(json_escaped("bad \xFF end") == "bad \\ufffd end");
    CHECK(json_escaped("cut \xE2\x82") == "cut \\ufffd\\ufffd");
    CHECK(json_escaped("overlong \xC0\xAF") == "overlong \\ufffd\\ufffd");
    CHECK(json_escaped("surrogate \xED\xA0\x80") == "surrogate \\ufffd\\ufffd\\ufffd");
}
