// LIST/NLST patterns: our matcher against the answers of fnmatch(FNM_PERIOD), which it replaces.
#include "fs/listing_stream.hpp"

#include <doctest/doctest.h>

#include <fnmatch.h>
#include <string>

using ferry::fs::matches_list_pattern;

TEST_CASE("matches_list_pattern agrees with fnmatch(FNM_PERIOD) on the patterns clients send") {
    const char* patterns[] = {"*", "*.txt", "a*", "*a*", "?", "??", "a?c", "[ab]*", "[!ab]*", "[^ab]*", "[a-c]x",
                              "[]]", "[!]]x", "x[", "[", "\\*", "a\\?b", ".*", "*.*", "*x*y*z", "[a-]", "[-a]",
                              "2026-0?.log", "[[:alpha:]]"};
    const char* names[] = {"a", "b", "c", "abc", "a.txt", ".hidden", ".", "x", "ax", "bx", "cx", "dx", "]", "]x",
                           "x[", "[", "*", "a?b", "axb", "xyz", "axbycz", "-", "2026-01.log", "2026-10.log", ""};
    for (const char* pattern : patterns) {
        if (std::string(pattern).find("[:") != std::string::npos) continue;  // classes are not supported
        for (const char* name : names) {
            CAPTURE(pattern);
            CAPTURE(name);
            CHECK(matches_list_pattern(pattern, name) == (::fnmatch(pattern, name, FNM_PERIOD) == 0));
        }
    }
}

TEST_CASE("a leading dot is matched only by a dot, and many stars stay fast") {
    CHECK_FALSE(matches_list_pattern("*", ".profile"));
    CHECK_FALSE(matches_list_pattern("?profile", ".profile"));
    CHECK_FALSE(matches_list_pattern("[.]profile", ".profile"));
    CHECK(matches_list_pattern(".*", ".profile"));
    CHECK(matches_list_pattern("*.log", "a.b.log"));
    const std::string long_name(4000, 'a');
    CHECK_FALSE(matches_list_pattern("*a*a*a*a*b", long_name));  // quadratic at worst, never exponential
}
