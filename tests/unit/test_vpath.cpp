// Virtual path normalisation: pure strings, the presentation layer over Home.
#include "fs/vpath.hpp"

#include <doctest/doctest.h>

using namespace ferry::fs;
using namespace std::string_literals;

TEST_CASE("vpath_resolve normalises relative and absolute arguments") {
    CHECK(vpath_resolve("/", "") == "/");
    CHECK(vpath_resolve("/a/b", "") == "/a/b");
    CHECK(vpath_resolve("/a", ".") == "/a");
    CHECK(vpath_resolve("/a", "./b/./c") == "/a/b/c");
    CHECK(vpath_resolve("/a/b", "..") == "/a");
    CHECK(vpath_resolve("/a", "../..") == "/");
    CHECK(vpath_resolve("/", "..") == "/");
    CHECK(vpath_resolve("/a", "//x//y//") == "/x/y");
    CHECK(vpath_resolve("/a", "b/") == "/a/b");
    CHECK(vpath_resolve("/a", "/") == "/");
    CHECK(vpath_resolve("/a", "/b/../c") == "/c");
    CHECK(vpath_resolve("/a", "b/../../../c") == "/c");
}

TEST_CASE("vpath_resolve never climbs above the root") {
    CHECK(vpath_resolve("/a", "../../etc/passwd") == "/etc/passwd");
    CHECK(vpath_resolve("/", "../../../../../../etc/shadow") == "/etc/shadow");
    CHECK(vpath_resolve("/a/b", "/../../..") == "/");
}

TEST_CASE("vpath_resolve keeps raw bytes and refuses NUL") {
    CHECK(vpath_resolve("/", "a\\..\\b") == "/a\\..\\b");    // backslash is an ordinary byte
    CHECK(vpath_resolve("/", "%2e%2e/x") == "/%2e%2e/x");    // no URL decoding
    CHECK(vpath_resolve("/", "caf\xc3\xa9") == "/caf\xc3\xa9");
    CHECK(vpath_resolve("/", "...") == "/...");              // only exactly ".." pops
    CHECK(vpath_resolve("/", "a\0b"s) == "");
    CHECK(vpath_resolve("/", "\0"s) == "");
    const std::string long_name(5000, 'x');
    CHECK(vpath_resolve("/", long_name) == "/" + long_name);
}

TEST_CASE("vpath_relative, vpath_parent, vpath_name") {
    CHECK(vpath_relative("/") == ".");
    CHECK(vpath_relative("/a/b") == "a/b");
    CHECK(vpath_parent("/a/b") == "/a");
    CHECK(vpath_parent("/a") == "/");
    CHECK(vpath_parent("/") == "/");
    CHECK(vpath_name("/a/b") == "b");
    CHECK(vpath_name("/a") == "a");
    CHECK(vpath_name("/") == "");
}

TEST_CASE("vpath_quote wraps in quotes, doubles quotes and neutralises line breaks") {
    CHECK(vpath_quote("/a \"b\"") == "\"/a \"\"b\"\"\"");
    CHECK(vpath_quote("/plain") == "\"/plain\"");
    CHECK(vpath_quote("/x\r\n250 fake") == "\"/x??250 fake\"");
}

TEST_CASE("vpath_depth counts the components below the root") {
    CHECK(vpath_depth("/") == 0);
    CHECK(vpath_depth("/a") == 1);
    CHECK(vpath_depth("/a/b") == 2);
    CHECK(vpath_depth(vpath_resolve("/a/b", "../c/d/e")) == 4);
}
