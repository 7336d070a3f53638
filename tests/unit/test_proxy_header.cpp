// PROXY protocol v1/v2 parsing (net/proxy_header.hpp), byte for byte as HAProxy sends it.
#include "net/proxy_header.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace ferry::net;
using Status = ProxyHeader::Status;

namespace {

ProxyHeader parse(const std::string& data) { return parse_proxy_header({data.data(), data.size()}); }

const std::string v2_signature("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: command (0 LOCAL, 1 PROXY), family/transport byte, the address block.
std::string v2(unsigned command, unsigned char family, const std::string& block) {
    std::string header = v2_signature;
    header += static_cast<char>(0x20 | command);
    header += static_cast<char>(family);
    header += static_cast<char>(block.size() >> 8);
    header += static_cast<char>(block.size() & 0xff);
    return header + block;
}

const std::string tcp4_block("\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x00\x15", 12);  // 203.0.113.7:51234 -> 192.0.2.1:21

}  // namespace

TEST_CASE("PROXY v1: TCP4 and TCP6 name the client and the address it reached") {
    const std::string line = "PROXY TCP4 203.0.113.7 192.0.2.1 51234 21\r\n";
    auto header = parse(line + "USER x\r\n");
    REQUIRE(header.status == Status::done);
    CHECK(header.length == line.size());
    CHECK(header.source->to_string() == "203.0.113.7:51234");
    CHECK(header.destination->to_string() == "192.0.2.1:21");

    header = parse("PROXY TCP6 2001:db8::7 2001:db8::1 4000 2121\r\n");
    REQUIRE(header.status == Status::done);
    CHECK(header.source->to_string() == "[2001:db8::7]:4000");
}

TEST_CASE("PROXY v1: UNKNOWN keeps the connection's own address") {
    auto header = parse("PROXY UNKNOWN\r\n");
    REQUIRE(header.status == Status::done);
    CHECK_FALSE(header.source);
    header = parse("PROXY UNKNOWN ffff:f...f ffff:f...f 65535 65535\r\n");
    REQUIRE(header.status == Status::done);
    CHECK_FALSE(header.source);
}

TEST_CASE("PROXY v1: every prefix of a header is incomplete, never invalid") {
    const std::string line = "PROXY TCP4 203.0.113.7 192.0.2.1 51234 21\r\n";
    for (std::size_t n = 0; n < line.size(); ++n) {
        CAPTURE(n);
        CHECK(parse(line.substr(0, n)).status == Status::incomplete);
    }
}

TEST_CASE("PROXY v1: malformed headers are refused, with a reason") {
    for (const char* bad : {"GET / HTTP/1.0\r\n", "USER alice\r\n", "PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n",
                            "PROXY TCP4 203.0.113.7 192.0.2.1 51234 21 9\r\n", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
                            "PROXY TCP4 2001:db8::1 1.2.3.4 1 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
                            "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", "PROXY TCP4 host.example 1.2.3.4 1 2\r\n",
                            "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
                            "PROXY TCP4 1.2.3.4\r1.2.3.4 1 2\r\n"}) {
        CAPTURE(bad);
        const auto header = parse(bad);
        CHECK(header.status == Status::invalid);
        CHECK_FALSE(header.error.empty());
    }
    // No line end within the spec's 107 bytes.
    CHECK(parse("PROXY UNKNOWN " + std::string(100, 'x')).status == Status::invalid);
    CHECK(parse("PROXY UNKNOWN " + std::string(90, 'x')).status == Status::incomplete);
}

TEST_CASE("PROXY v2: TCP over IPv4 and IPv6, TLVs skipped") {
    auto header = parse(v2(1, 0x11, tcp4_block) + "\x16\x03\x01");  // a ClientHello may follow at once
    REQUIRE(header.status == Status::done);
    CHECK(header.length == 16 + 12);
    CHECK(header.source->to_string() == "203.0.113.7:51234");
    CHECK(header.destination->to_string() == "192.0.2.1:21");

    const std::string tlv("\x04\x00\x03" "abc", 6);  // PP2_TYPE_NOOP, 3 bytes
    header = parse(v2(1, 0x11, tcp4_block + tlv));
    REQUIRE(header.status == Status::done);
    CHECK(header.length == 16 + 18);
    CHECK(header.source->ip() == "203.0.113.7");

    std::string block6(36, '\0');
    block6[0] = '\x20'; block6[1] = '\x01'; block6[2] = '\x0d'; block6[3] = '\xb8'; block6[15] = '\x07';
    block6[32] = '\x0f'; block6[33] = '\xa0';  // source port 4000
    header = parse(v2(1, 0x21, block6));
    REQUIRE(header.status == Status::done);
    CHECK(header.source->to_string() == "[2001:db8::7]:4000");
}

TEST_CASE("PROXY v2: LOCAL, UNSPEC and AF_UNIX keep the connection's own address") {
    for (const auto& data : {v2(0, 0x00, ""), v2(0, 0x11, tcp4_block), v2(1, 0x00, ""), v2(1, 0x31, std::string(216, 'u'))}) {
        const auto header = parse(data);
        REQUIRE(header.status == Status::done);
        CHECK(header.length == data.size());
        CHECK_FALSE(header.source);
    }
}

TEST_CASE("PROXY v2: cut-short, wrong-version and oversized headers") {
    const std::string whole = v2(1, 0x11, tcp4_block);
    for (std::size_t n = 0; n < whole.size(); ++n) {
        CAPTURE(n);
        CHECK(parse(whole.substr(0, n)).status == Status::incomplete);
    }
    std::string wrong_version = whole;
    wrong_version[12] = '\x11';
    CHECK(parse(wrong_version).status == Status::invalid);
    std::string wrong_command = whole;
    wrong_command[12] = '\x22';
    CHECK(parse(wrong_command).status == Status::invalid);
    CHECK(parse(v2(1, 0x11, tcp4_block.substr(0, 8))).status == Status::invalid);  // addresses cut short
    CHECK(parse(v2(1, 0x12, tcp4_block)).status == Status::invalid);                // UDP
    const auto huge = parse(v2(1, 0x11, tcp4_block + std::string(max_proxy_header, '\0')));
    CHECK(huge.status == Status::invalid);
    CHECK(huge.error.find("at most") != std::string::npos);
}
