#include "proto/command_parser.hpp"

#include <doctest/doctest.h>

using ferry::proto::CommandParser;
using ferry::proto::ParsedLine;
using ferry::proto::split_command;

namespace {
std::vector<ParsedLine> feed_all(CommandParser& parser, std::string_view bytes) {
    std::vector<ParsedLine> out;
    parser.feed(std::span<const char>(bytes.data(), bytes.size()), out);
    return out;
}
std::vector<ParsedLine> feed_bytewise(CommandParser& parser, std::string_view bytes) {
    std::vector<ParsedLine> out;
    for (char c : bytes) parser.feed(std::span<const char>(&c, 1), out);
    return out;
}
}  // namespace

TEST_CASE("CR LF and bare LF end lines; split reads join") {
    CommandParser parser(100);
    auto lines = feed_all(parser, "USER alice\r\nPASS x\nNO");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].text == "USER alice");
    CHECK(lines[1].text == "PASS x");
    lines = feed_all(parser, "OP\r");
    CHECK(lines.empty());
    lines = feed_all(parser, "\n");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text == "NOOP");
    CHECK_FALSE(lines[0].overlong);
}

TEST_CASE("Telnet IAC sequences are removed, IAC IAC is a data byte, also byte by byte") {
    const std::string input = "AB\xff\xf4\xff\xf2" "OR\r\n"    // IAC IP IAC DM inside ABOR
                              "RE\xff\xfb\x01TR f\xff\xffx\r\n";  // IAC WILL ECHO; IAC IAC
    for (int bytewise = 0; bytewise < 2; ++bytewise) {
        CommandParser parser(100);
        auto lines = bytewise ? feed_bytewise(parser, input) : feed_all(parser, input);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].text == "ABOR");
        CHECK(lines[1].text == "RETR f\xffx");
    }
}

TEST_CASE("ABOR as clients send it with urgent data: Telnet IP and DM first, or the bare line") {
    // With SO_OOBINLINE the urgent byte (the DM, or ftplib's final LF) arrives in the stream.
    const std::string synch = "\xff\xf4\xff\xf2" "ABOR\r\nNOOP\r\n";
    const std::string bare = "ABOR\r\nNOOP\r\n";
    for (const auto& input : {synch, bare}) {
        for (int bytewise = 0; bytewise < 2; ++bytewise) {
            CommandParser parser(100);
            auto lines = bytewise ? feed_bytewise(parser, input) : feed_all(parser, input);
            REQUIRE(lines.size() == 2);
            CHECK(lines[0].text == "ABOR");
            CHECK(lines[1].text == "NOOP");
        }
    }
}

TEST_CASE("reset drops the partial line and a Telnet sequence in progress") {
    CommandParser parser(100);
    CHECK(feed_all(parser, "MKD injected").empty());
    CHECK(parser.reset() == 12);
    auto lines = feed_all(parser, "USER a\r\n");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text == "USER a");
    CHECK(feed_all(parser, "X\xff\xfb").empty());  // IAC WILL, its option byte still to come
    CHECK(parser.reset() == 1);
    lines = feed_all(parser, "NOOP\r\n");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text == "NOOP");  // the N is not taken for WILL's option
    CHECK(parser.reset() == 0);
}

TEST_CASE("a CR not followed by LF is dropped") {
    CommandParser parser(100);
    auto lines = feed_all(parser, "NO\rOP\r\n");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text == "NOOP");
}

TEST_CASE("an overlong line is reported once and the rest of it discarded") {
    CommandParser parser(8);
    auto lines = feed_all(parser, "STOR 0123456789abcdef\r\nNOOP\r\n");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].overlong);
    CHECK(lines[0].text.size() == 8);
    CHECK_FALSE(lines[1].overlong);
    CHECK(lines[1].text == "NOOP");
}

TEST_CASE("a line of exactly max_line bytes is fine") {
    CommandParser parser(4);
    auto lines = feed_all(parser, "NOOP\r\n");
    REQUIRE(lines.size() == 1);
    CHECK_FALSE(lines[0].overlong);
}

TEST_CASE("NUL bytes and high bytes pass through as data") {
    CommandParser parser(100);
    auto lines = feed_all(parser, std::string_view("CWD a\0b\xc3\xa9\r\n", 11));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text == std::string("CWD a\0b\xc3\xa9", 9));
}

TEST_CASE("split_command upper-cases the verb and keeps the argument's bytes") {
    auto c = split_command("retr  spaced name ");
    CHECK(c.verb == "RETR");
    CHECK(c.arg == " spaced name ");
    c = split_command("NOOP");
    CHECK(c.verb == "NOOP");
    CHECK(c.arg.empty());
    CHECK(split_command(" USER x").verb.empty());
    CHECK(split_command("xsha256 f").verb == "XSHA256");
    CHECK(split_command("3USER x").verb.empty());
    CHECK(split_command("US-R x").verb.empty());
    CHECK(split_command("").verb.empty());
}
