// Channel (channel.hpp): blocking calls with a deadline over a non-blocking socket, plain or TLS.
// The socket calls themselves are the platform's (client/socket_ops.hpp).
#include "client/channel.hpp"

#include "base/log.hpp"
#include "client/errors.hpp"
#include "client/interrupt.hpp"
#include "client/socket_ops.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace ferry::client {
namespace {

// Waits are cut into slices so that a Ctrl-C is seen within one even where it does not interrupt
// the wait itself (Windows).
constexpr int wait_slice_ms = 200;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 24LL * 3600 * 1000));
}

}  // namespace

std::string openssl_errors() {
    std::string text;
    for (int i = 0; i < 16; ++i) {  // the queue is short; bound it anyway
        const unsigned long code = ERR_get_error();
        if (code == 0) break;
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        const char* reason = ERR_reason_error_string(code);
        if (!text.empty()) text += "; ";
        text += reason ? reason : buf;
    }
    return text.empty() ? "unknown TLS error" : text;
}

Channel::Channel(Socket socket, Millis timeout, std::string what)
    : fd_(std::move(socket)), timeout_(timeout), what_(std::move(what)) {}

void Channel::fail(const std::string& doing, const Error& err) const {
    throw NetError(cat(doing, " on ", what_, ": ", err.message()));
}

void Channel::wait_for(bool for_write, Clock::time_point deadline, const char* doing) {
    for (;;) {
        const int left = remaining_ms(deadline);
        const Status ready = detail::wait_ready(fd_, for_write, std::min(left, wait_slice_ms));
        throw_if_interrupted();  // Ctrl-C during a transfer: the caller sends ABOR
        if (!ready) return;      // errors and hang-ups surface in the following call
        if (ready == Errc::timed_out) {
            if (left > wait_slice_ms) continue;
            throw NetError(cat(doing, " on ", what_, ": no progress for ", timeout_.count() / 1000, " s (timed out)"));
        }
        if (ready != Errc::interrupted) fail(doing, ready);
    }
}

void Channel::wait_for_ssl(int ssl_result, Clock::time_point deadline, const char* doing) {
    const int err = SSL_get_error(ssl_.get(), ssl_result);
    if (err == SSL_ERROR_WANT_READ) return wait_for(false, deadline, doing);
    if (err == SSL_ERROR_WANT_WRITE) return wait_for(true, deadline, doing);
    if (err == SSL_ERROR_SYSCALL)
        if (const Error socket_error = detail::last_socket_error()) fail(doing, socket_error);
    throw NetError(cat(doing, " on ", what_, ": TLS error: ", openssl_errors()));
}

void Channel::offer_session(SSL_SESSION* resume) {
    // A copy, not the control connection's own SSL_SESSION: OpenSSL marks the session of a
    // connection that ends badly (Ctrl-C, a reset, a fatal alert) as not resumable, and with a
    // shared object one failed transfer would make every later data connection a full handshake,
    // which servers requiring session reuse refuse (522). The SSL takes its own reference.
    std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)> copy(SSL_SESSION_dup(resume), SSL_SESSION_free);
    if (!copy || SSL_set_session(ssl_.get(), copy.get()) != 1)
        throw NetError(cat("TLS setup on ", what_, ": cannot offer the control session: ", openssl_errors()));
}

void Channel::start_tls(SSL_CTX* ctx, const std::string& host, SSL_SESSION* resume) {
    ssl_.reset(SSL_new(ctx));
    if (!ssl_ || !detail::attach_ssl(ssl_.get(), fd_))
        throw NetError(cat("TLS setup on ", what_, ": ", openssl_errors()));
    // Name checks: an IP literal is matched against the certificate's IP entries, a name against
    // its DNS names (and sent as SNI).
    if (net::Ip::parse(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), host.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl_.get(), host.c_str());
        SSL_set1_host(ssl_.get(), host.c_str());
    }
    if (resume) offer_session(resume);
    const auto deadline = Clock::now() + timeout_;
    for (int round = 0; round < 10000; ++round) {
        const int rc = SSL_connect(ssl_.get());
        if (rc == 1) return;
        const int err = SSL_get_error(ssl_.get(), rc);
        const long verify = SSL_get_verify_result(ssl_.get());
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE && verify != X509_V_OK)
            throw NetError(cat("TLS handshake with ", what_, ": certificate not trusted (",
                               X509_verify_cert_error_string(verify),
                               "); use --insecure to accept a self-signed certificate"));
        wait_for_ssl(rc, deadline, "TLS handshake");
    }
    throw NetError(cat("TLS handshake with ", what_, ": did not finish"));
}

std::size_t Channel::read_some(std::span<char> buffer) {
    const auto deadline = Clock::now() + timeout_;
    for (int round = 0; round < 100000; ++round) {
        if (ssl_) {
            std::size_t got = 0;
            const int rc = SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &got);
            if (rc == 1) return got;
            const int err = SSL_get_error(ssl_.get(), rc);
            if (err == SSL_ERROR_ZERO_RETURN) return 0;
            wait_for_ssl(rc, deadline, "reading");
            continue;
        }
        const auto got = detail::recv_some(fd_, buffer);
        if (got) return *got;
        if (got.error() == Errc::would_block) {
            wait_for(false, deadline, "reading");
        } else if (got.error() != Errc::interrupted) {
            fail("reading", got.error());
        }
    }
    throw NetError(cat("reading on ", what_, ": no progress"));
}

void Channel::write_all(std::span<const char> bytes) {
    // The deadline restarts whenever bytes move: a slow but live peer is not a timeout.
    auto deadline = Clock::now() + timeout_;
    for (std::size_t round = 0; !bytes.empty() && round < 10'000'000; ++round) {
        if (ssl_) {
            std::size_t sent = 0;
            const int rc = SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &sent);
            if (rc == 1) {
                bytes = bytes.subspan(sent);
                deadline = Clock::now() + timeout_;
            } else {
                wait_for_ssl(rc, deadline, "writing");
            }
            continue;
        }
        const auto sent = detail::send_some(fd_, bytes);
        if (sent) {
            bytes = bytes.subspan(*sent);
            deadline = Clock::now() + timeout_;
        } else if (sent.error() == Errc::would_block) {
            wait_for(true, deadline, "writing");
        } else if (sent.error() != Errc::interrupted) {
            fail("writing", sent.error());
        }
    }
    if (!bytes.empty()) throw NetError(cat("writing on ", what_, ": no progress"));
}

std::uint64_t Channel::send_file_chunk(const File& file, std::uint64_t offset, std::size_t count,
                                       std::span<char> scratch) {
    std::vector<char> own;  // scratch is empty where the caller expected sendfile
    auto read_and_write = [&] {
        if (scratch.empty()) {
            own.resize(std::min<std::size_t>(count, 256 * 1024));
            scratch = own;
        }
        const auto got = sys::read_at(file, scratch.first(std::min(count, scratch.size())), offset);
        if (!got) throw ClientError(cat("reading the local file: ", got.error().message()));
        write_all(scratch.first(*got));
        return static_cast<std::uint64_t>(*got);
    };
    if (ssl_) return read_and_write();
    // Plain TCP: let the kernel copy page cache to socket where it can.
    const auto deadline = Clock::now() + timeout_;
    for (int round = 0; round < 100000; ++round) {
        const auto sent = detail::send_file_some(fd_, file, offset, count);
        if (sent) return *sent;
        if (sent.error() == Errc::unsupported) return read_and_write();
        if (sent.error() == Errc::would_block) {
            wait_for(true, deadline, "writing");
        } else if (sent.error() != Errc::interrupted) {
            fail("sending the file", sent.error());
        }
    }
    throw NetError(cat("writing on ", what_, ": no progress"));
}

void Channel::finish_sending() {
    if (ssl_) {
        // One close_notify attempt; a peer that already left is not worth waiting for.
        const auto deadline = Clock::now() + timeout_;
        for (int round = 0; round < 50; ++round) {
            const int rc = SSL_shutdown(ssl_.get());
            if (rc >= 0) break;
            const int err = SSL_get_error(ssl_.get(), rc);
            if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) break;
            try {
                wait_for(err == SSL_ERROR_WANT_WRITE, deadline, "closing TLS");
            } catch (const NetError&) {
                break;
            }
        }
        ERR_clear_error();
    }
    detail::shutdown_send(fd_);
    drain_until_closed();
}

void Channel::drain_until_closed() {
    // Closing a socket with unread bytes (a TLS 1.3 session ticket, the peer's close_notify) makes
    // the kernel send RST, and an RST makes the server drop data it has not read yet: a silently
    // truncated upload. So read until the server closes its side, within the timeout.
    char sink[16 * 1024];
    try {
        for (int round = 0; round < 4096; ++round) {  // at most 64 MiB of unexpected bytes
            if (read_some(sink) == 0) break;
        }
    } catch (const ClientError&) {
        // A reset or a timeout here changes nothing: the data was handed over already.
    }
    ERR_clear_error();
}

net::Address Channel::peer() const {
    const net::Address peer = detail::peer_of(fd_);
    if (peer.family() == net::Family::none) fail("finding the peer address", detail::last_socket_error());
    return peer;
}

Channel connect_to(const std::string& host, const std::string& port, Millis timeout) {
    std::string error;
    const auto addresses = detail::resolve(host, port, &error);
    if (addresses.empty()) throw NetError(cat("can't resolve ", host, ": ", error));
    Error last(Errc::not_found);
    for (const net::Address& address : addresses) {
        auto socket = detail::connect_socket(address, timeout);
        if (socket) return Channel(std::move(*socket), timeout, address.to_string());
        last = socket.error();
    }
    throw NetError(cat("can't connect to ", host, " port ", port, ": ", last.message()));
}

Channel connect_to_port(const net::Address& peer, std::uint16_t port, Millis timeout) {
    net::Address target = peer;
    target.set_port(port);
    auto socket = detail::connect_socket(target, timeout);
    if (!socket)
        throw ClientError(cat("can't open the data connection to ", target.to_string(), ": ", socket.error().message()));
    return Channel(std::move(*socket), timeout, target.to_string());
}

}  // namespace ferry::client
