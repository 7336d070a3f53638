// Listening sockets and outgoing connects, on a reactor.
#pragma once
#include "base/fd.hpp"
#include "base/result.hpp"
#include "net/address.hpp"
#include "net/reactor.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

namespace ferry::net {

// socket + SO_REUSEADDR (+ IPV6_V6ONLY for IPv6) + bind + listen, non-blocking and close-on-exec.
// Fails with the errno of the step that failed (EADDRINUSE, EACCES, ...).
Result<Fd> bind_listen(const Address& address, int backlog);

// Socket options of a control connection:
//  - TCP_NODELAY: replies are small and must leave at once. Without it, Nagle holds "226" until the
//    client's delayed ACK of "150" arrives, ~40 ms per transfer.
//  - SO_OOBINLINE: clients send ABOR (or the Telnet IP/DM before it) with TCP urgent data, as
//    RFC 959 4.1.3 describes; Python's ftplib sends "ABOR\r\n" with MSG_OOB. Without it the urgent
//    byte is taken out of the stream and the line runs into the next command ("ABORNOOP").
Status tune_control_socket(const Fd& socket);

// One short message on a fresh connection that is about to be closed ("421 Too many
// connections"): never blocks, never raises SIGPIPE, and what does not fit is dropped.
void send_parting_words(const Fd& socket, std::string_view text);

// Accepts connections on a listening socket and hands each one (non-blocking, close-on-exec,
// TCP_NODELAY not set) to on_accept. On EMFILE/ENFILE it pauses briefly instead of spinning.
class Listener final : private Reactor::Handler {
public:
    using OnAccept = std::function<void(Fd connection, Address peer)>;
    Listener(Reactor& reactor, Fd listening, OnAccept on_accept);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void pause();   // stop accepting (connections wait in the backlog)
    void resume();
    Address local_address() const;

private:
    void on_readable() override;
    void on_writable() override {}
    void on_error() override { on_readable(); }
    void accept_ready();
    // Accepting again later, from the loop: after resume() and when a turn hit its bound.
    void schedule_accept();
    // Out of descriptors (EMFILE/ENFILE): stop for a moment instead of spinning on the backlog.
    void back_off(int err);

    Reactor& reactor_;
    Fd socket_;
    OnAccept on_accept_;
    bool paused_ = false;  // by the owner
    Reactor::TimerId retry_timer_ = 0;  // non-zero while backing off
    // Set to false by the destructor: on_accept may destroy the Listener mid-turn.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// One non-blocking connect. Destroying the Connector or calling cancel() drops the callback.
class Connector final : private Reactor::Handler {
public:
    using OnConnect = std::function<void(int err, Fd connection)>;
    explicit Connector(Reactor& reactor);
    ~Connector();
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    // Connect to `to`, binding the local side to `from` first when given (port 0 = any port).
    void connect(const Address& to, const std::optional<Address>& from, OnConnect done);
    void cancel();

private:
    void on_readable() override {}
    void on_writable() override;
    void on_error() override { on_writable(); }
    void finish(int err);
    void forget_socket();

    Reactor& reactor_;
    Fd socket_;
    OnConnect done_;
    bool registered_ = false;  // socket_ is in the reactor, waiting for writability
    // Bumped by cancel() and connect(); shared with deferred completions, which check it.
    std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
};

}  // namespace ferry::net
