// ProxyReader (net/proxy_reader.hpp) over real loopback connections: it takes exactly the header,
// waits for a header split across segments, and gives up on silence and garbage.
#include "net/proxy_reader.hpp"

#include "support/loopback.hpp"

#include <doctest/doctest.h>

#include <string>
#include <sys/socket.h>
#include <thread>

using namespace ferry;
using namespace ferry::net;
using namespace ferry::testing;
using namespace std::chrono_literals;

namespace {

struct Outcome {
    bool called = false;
    Socket socket;
    ProxyHeader header;
};

void send_text(const Socket& to, const std::string& text) {
    REQUIRE(::send(to.get(), text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
}

Outcome read_header(TcpPair& pair, std::chrono::milliseconds timeout, const std::function<void()>& meanwhile = {}) {
    Reactor reactor;
    Outcome outcome;
    ProxyReader reader(reactor, std::move(pair.ours), timeout, [&](Socket socket, ProxyHeader header) {
        outcome = Outcome{true, std::move(socket), std::move(header)};
        reactor.stop();
    });
    if (meanwhile) reactor.add_timer(50ms, meanwhile);
    run_until_stopped(reactor, 5s);
    return outcome;
}

}  // namespace

TEST_CASE("ProxyReader takes the header and leaves what follows for the session") {
    auto pair = tcp_pair();
    send_text(pair.theirs, "PROXY TCP4 203.0.113.7 192.0.2.1 51234 21\r\n\x16\x03\x01hello");
    auto outcome = read_header(pair, 2s);
    REQUIRE(outcome.called);
    REQUIRE(outcome.header.status == ProxyHeader::Status::done);
    CHECK(outcome.header.source->to_string() == "203.0.113.7:51234");
    char rest[64];
    const ssize_t got = ::recv(outcome.socket.get(), rest, sizeof rest, 0);
    CHECK(std::string(rest, got > 0 ? got : 0) == "\x16\x03\x01hello");
}

TEST_CASE("ProxyReader waits for a header that arrives in pieces") {
    auto pair = tcp_pair();
    send_text(pair.theirs, "PROXY TCP4 203.0.1");
    Socket& theirs = pair.theirs;
    auto outcome = read_header(pair, 2s, [&] { send_text(theirs, "13.7 192.0.2.1 51234 21\r\n"); });
    REQUIRE(outcome.called);
    REQUIRE(outcome.header.status == ProxyHeader::Status::done);
    CHECK(outcome.header.source->ip() == "203.0.113.7");
}

TEST_CASE("ProxyReader refuses garbage, a close and silence") {
    SUBCASE("garbage") {
        auto pair = tcp_pair();
        send_text(pair.theirs, "USER alice\r\n");
        auto outcome = read_header(pair, 2s);
        REQUIRE(outcome.called);
        CHECK(outcome.header.status == ProxyHeader::Status::invalid);
    }
    SUBCASE("closed") {
        auto pair = tcp_pair();
        pair.theirs.reset();
        auto outcome = read_header(pair, 2s);
        REQUIRE(outcome.called);
        CHECK(outcome.header.error.find("closed") != std::string::npos);
    }
    SUBCASE("silence") {
        auto pair = tcp_pair();
        const auto started = std::chrono::steady_clock::now();
        auto outcome = read_header(pair, 200ms);
        REQUIRE(outcome.called);
        CHECK(outcome.header.error.find("within 200 ms") != std::string::npos);
        CHECK(std::chrono::steady_clock::now() - started >= 200ms);
    }
}
