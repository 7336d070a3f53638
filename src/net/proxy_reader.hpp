// Takes the PROXY protocol header (proxy_header.hpp) off a fresh connection, on a reactor, without
// taking any byte that follows it: an implicit-TLS client's ClientHello may arrive in the same
// segment, and belongs to the session's stream.
#pragma once
#include "net/proxy_header.hpp"
#include "net/reactor.hpp"
#include "sys/handle.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace ferry::net {

class ProxyReader {
public:
    // Called once, from the loop: with the socket and a done header, or an invalid one (closed,
    // malformed, too long, or `timeout` passed; `error` says which) whose socket the owner closes.
    using Done = std::function<void(Socket connection, ProxyHeader header)>;
    ProxyReader(Reactor& reactor, Socket connection, std::chrono::milliseconds timeout, Done done);
    ~ProxyReader();  // drops the callback if it has not run
    ProxyReader(const ProxyReader&) = delete;
    ProxyReader& operator=(const ProxyReader&) = delete;

    // Whether this platform can read the header (the Windows backend cannot yet).
    static bool supported();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net
