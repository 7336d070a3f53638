// One connected TCP socket, optionally wrapped in TLS, with a timeout on every operation. The socket
// is non-blocking underneath so each wait is bounded (client/socket_ops.hpp: poll, WSAPoll); callers
// see blocking calls that either finish or throw NetError.
#pragma once
#include "net/address.hpp"
#include "sys/error.hpp"
#include "sys/handle.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <openssl/ssl.h>

namespace ferry::client {

using Millis = std::chrono::milliseconds;

struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

class Channel {
public:
    Channel(Socket socket, Millis timeout, std::string what);
    Channel(Channel&&) noexcept = default;
    Channel& operator=(Channel&&) noexcept = default;
    ~Channel() = default;

    // TLS client handshake. `resume` (may be null) is the control connection's session, offered so
    // the server can tie this data connection to the control one.
    void start_tls(SSL_CTX* ctx, const std::string& host, SSL_SESSION* resume);
    bool has_tls() const { return ssl_ != nullptr; }
    SSL* ssl() const { return ssl_.get(); }

    // Up to buffer.size() bytes; 0 at end of stream.
    std::size_t read_some(std::span<char> buffer);
    void write_all(std::span<const char> bytes);
    // Sends `count` bytes of `file` from `offset` (sendfile without TLS, read+write with it).
    // Returns bytes sent before the file ended (short file) or `count`.
    std::uint64_t send_file_chunk(const File& file, std::uint64_t offset, std::size_t count, std::span<char> scratch);
    // Orderly end of an upload: TLS close_notify (best effort), the write side shut down, then
    // whatever the server still sends is read until it closes.
    void finish_sending();

    // The server's address, so that a data connection goes to the same host.
    net::Address peer() const;
    const std::string& what() const { return what_; }
    void set_timeout(Millis timeout) { timeout_ = timeout; }
    Millis timeout() const { return timeout_; }

private:
    using Clock = std::chrono::steady_clock;
    // Waits until readable (or writable) or `deadline`; throws NetError naming `doing` on timeout
    // or error, Interrupted on Ctrl-C during a transfer.
    void wait_for(bool for_write, Clock::time_point deadline, const char* doing);
    // Translates an SSL_ERROR_WANT_* into a wait; throws for real errors.
    void wait_for_ssl(int ssl_result, Clock::time_point deadline, const char* doing);
    void drain_until_closed();
    // SSL_set_session with a private copy of `resume` (before SSL_connect).
    void offer_session(SSL_SESSION* resume);
    [[noreturn]] void fail(const std::string& doing, const Error& err) const;

    Socket fd_;
    SslPtr ssl_;
    Millis timeout_;
    std::string what_;  // "control connection to 127.0.0.1:2121", for messages
};

// Connects to host:port (each address getaddrinfo gives, in order) within `timeout`.
Channel connect_to(const std::string& host, const std::string& port, Millis timeout);
// Connects to `peer` with its port replaced (passive data connections).
Channel connect_to_port(const net::Address& peer, std::uint16_t port, Millis timeout);

// Text of the current OpenSSL error queue ("certificate verify failed", ...), cleared.
std::string openssl_errors();

}  // namespace ferry::client
