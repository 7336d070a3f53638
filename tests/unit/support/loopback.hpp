// Helpers for tests that drive net::Stream over real loopback sockets: a connected TCP pair,
// running the reactor until a callback stops it, and deterministic test data. Header-only.
#pragma once
#include "errors.hpp"
#include "run_loop.hpp"
#include "net/address.hpp"
#include "net/linux/sockaddr.hpp"
#include "net/listener.hpp"
#include "net/reactor.hpp"
#include "net/stream.hpp"
#include "sys/handle.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

namespace ferry::testing {

inline void set_blocking(int fd, bool blocking) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK);
    // Blocking test peers run in threads: a bug must fail the test, not hang it.
    timeval limit{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
}

struct TcpPair {
    Socket ours;    // non-blocking, for a Stream
    Socket theirs;  // the peer; blocking when a test thread drives it
};

inline TcpPair tcp_pair(bool peer_blocking = false) {
    auto listening = net::bind_listen(*net::Address::parse("127.0.0.1:0"), 4);
    REQUIRE(listening.ok());
    const net::Address where = net::local_address_of(*listening);
    Socket peer(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage storage{};
    const socklen_t size = net::detail::to_sockaddr(where, storage);
    REQUIRE(::connect(peer.get(), reinterpret_cast<sockaddr*>(&storage), size) == 0);  // loopback: in the backlog now
    Socket ours(::accept4(listening->get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    REQUIRE(ours);
    set_blocking(peer.get(), peer_blocking);
    return {std::move(ours), std::move(peer)};
}

// A blocking connect of `socket` to `to`; 0 or -1 with errno, as connect(2).
inline int connect_socket(const Socket& socket, const net::Address& to) {
    sockaddr_storage storage{};
    const socklen_t size = net::detail::to_sockaddr(to, storage);
    return ::connect(socket.get(), reinterpret_cast<sockaddr*>(&storage), size);
}

// `size` pseudo-random bytes; the same `seed` gives the same bytes.
inline std::vector<char> pattern(std::size_t size, unsigned seed = 1) {
    std::vector<char> bytes(size);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : bytes) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<char>(x >> 24);
    }
    return bytes;
}

struct Outcome {
    bool called = false;
    Error err = Errc::other;
    std::uint64_t n = 0;
};

// A completion that records its outcome and stops the loop.
inline net::IoDone record(Outcome& outcome, net::Reactor& reactor) {
    return [&outcome, &reactor](Error err, std::uint64_t n) {
        outcome = {true, err, n};
        reactor.stop();
    };
}

}  // namespace ferry::testing
