// Listening sockets and outgoing connects, on a reactor. The backend (net/linux/listener.cpp,
// connector.cpp) holds the sockets and their readiness.
#pragma once
#include "base/result.hpp"
#include "net/address.hpp"
#include "net/reactor.hpp"
#include "sys/handle.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

namespace ferry::net {

// socket + SO_REUSEADDR (+ IPV6_V6ONLY for IPv6) + bind + listen, non-blocking and close-on-exec.
// Fails with the error of the step that failed (address_in_use, permission, ...).
Result<Socket> bind_listen(const Address& address, int backlog);

// Socket options of a control connection:
//  - TCP_NODELAY: replies are small and must leave at once. Without it, Nagle holds "226" until the
//    client's delayed ACK of "150" arrives, ~40 ms per transfer.
//  - SO_OOBINLINE: clients send ABOR (or the Telnet IP/DM before it) with TCP urgent data, as
//    RFC 959 4.1.3 describes; Python's ftplib sends "ABOR\r\n" with MSG_OOB. Without it the urgent
//    byte is taken out of the stream and the line runs into the next command ("ABORNOOP").
Status tune_control_socket(const Socket& socket);

// One short message on a fresh connection that is about to be closed ("421 Too many
// connections"): never blocks, never raises SIGPIPE, and what does not fit is dropped.
void send_parting_words(const Socket& socket, std::string_view text);

// The local address a socket is bound to (for a listener bound to port 0).
Address local_address_of(const Socket& socket);

// Accepts connections on a listening socket and hands each one (non-blocking, close-on-exec,
// TCP_NODELAY not set) to on_accept. When out of handles it pauses briefly instead of spinning.
class Listener {
public:
    using OnAccept = std::function<void(Socket connection, Address peer)>;
    Listener(Reactor& reactor, Socket listening, OnAccept on_accept);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void pause();   // stop accepting (connections wait in the backlog)
    void resume();
    Address local_address() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// One non-blocking connect. Destroying the Connector or calling cancel() drops the callback.
class Connector {
public:
    using OnConnect = std::function<void(Error err, Socket connection)>;
    explicit Connector(Reactor& reactor);
    ~Connector();
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    // Connect to `to`, binding the local side to `from` first when given (port 0 = any port).
    void connect(const Address& to, const std::optional<Address>& from, OnConnect done);
    void cancel();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net
