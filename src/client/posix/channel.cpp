#include "client/channel.hpp"

#include "base/log.hpp"
#include "client/errors.hpp"
#include "client/interrupt.hpp"
#include "net/linux/sockaddr.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

namespace ferry::client {
namespace {

bool set_non_blocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

std::string describe(const sockaddr* addr) {
    char host[NI_MAXHOST] = "?";
    char port[NI_MAXSERV] = "?";
    const socklen_t len = addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    ::getnameinfo(addr, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    return addr->sa_family == AF_INET6 ? cat("[", host, "]:", port) : cat(host, ":", port);
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 24LL * 3600 * 1000));
}

// Non-blocking connect bounded by `timeout`. Returns the errno of the failure, 0 on success.
int connect_with_timeout(int fd, const sockaddr* addr, socklen_t len, Millis timeout) {
    if (::connect(fd, addr, len) == 0) return 0;
    if (errno != EINPROGRESS) return errno;
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready == 0) return ETIMEDOUT;
    if (ready < 0) return errno;
    int err = 0;
    socklen_t err_len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return errno;
    return err;
}

Channel connect_address(const sockaddr* addr, socklen_t len, Millis timeout, int& err) {
    Socket fd(::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd || !set_non_blocking(fd.get())) {
        err = errno;
        return Channel(Socket(), timeout, "");
    }
    err = connect_with_timeout(fd.get(), addr, len, timeout);
    if (err != 0) return Channel(Socket(), timeout, "");
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return Channel(std::move(fd), timeout, describe(addr));
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

void Channel::fail(const std::string& doing, int err) const {
    throw NetError(cat(doing, " on ", what_, ": ", std::strerror(err)));
}

void Channel::wait_for(short events, Clock::time_point deadline, const char* doing) {
    for (int attempt = 0; attempt < 1000; ++attempt) {  // only EINTR repeats
        pollfd p{fd_.get(), events, 0};
        const int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready > 0) return;  // errors and hang-ups surface in the following call
        if (ready == 0)
            throw NetError(cat(doing, " on ", what_, ": no progress for ", timeout_.count() / 1000, " s (timed out)"));
        if (errno != EINTR) fail(doing, errno);
        throw_if_interrupted();  // Ctrl-C during a transfer: the caller sends ABOR
    }
    fail(doing, EINTR);
}

void Channel::wait_for_ssl(int ssl_result, Clock::time_point deadline, const char* doing) {
    const int err = SSL_get_error(ssl_.get(), ssl_result);
    if (err == SSL_ERROR_WANT_READ) return wait_for(POLLIN, deadline, doing);
    if (err == SSL_ERROR_WANT_WRITE) return wait_for(POLLOUT, deadline, doing);
    if (err == SSL_ERROR_SYSCALL && errno != 0) fail(doing, errno);
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
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1)
        throw NetError(cat("TLS setup on ", what_, ": ", openssl_errors()));
    // Name checks: an IP literal is matched against the certificate's IP entries, a name against
    // its DNS names (and sent as SNI).
    in6_addr probe{};
    const bool is_ip = ::inet_pton(AF_INET, host.c_str(), &probe) == 1 || ::inet_pton(AF_INET6, host.c_str(), &probe) == 1;
    if (is_ip) {
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
        const ssize_t got = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
        if (got >= 0) return static_cast<std::size_t>(got);
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wait_for(POLLIN, deadline, "reading");
        } else if (errno != EINTR) {
            fail("reading", errno);
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
        const ssize_t sent = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent >= 0) {
            bytes = bytes.subspan(static_cast<std::size_t>(sent));
            deadline = Clock::now() + timeout_;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wait_for(POLLOUT, deadline, "writing");
        } else if (errno != EINTR) {
            fail("writing", errno);
        }
    }
    if (!bytes.empty()) throw NetError(cat("writing on ", what_, ": no progress"));
}

std::uint64_t Channel::send_file_chunk(const File& file, std::uint64_t offset, std::size_t count,
                                       std::span<char> scratch) {
    if (ssl_) {
        const auto got = sys::read_at(file, scratch.first(std::min(count, scratch.size())), offset);
        if (!got) throw ClientError(cat("reading the local file: ", got.error().message()));
        write_all(scratch.first(*got));
        return *got;
    }
    // Plain TCP: let the kernel copy page cache to socket.
    const auto deadline = Clock::now() + timeout_;
    for (int round = 0; round < 100000; ++round) {
        off_t pos = static_cast<off_t>(offset);
        const ssize_t sent = ::sendfile(fd_.get(), file.get(), &pos, count);
        if (sent >= 0) return static_cast<std::uint64_t>(sent);
        if (errno == EAGAIN) {
            wait_for(POLLOUT, deadline, "writing");
        } else if (errno != EINTR) {
            fail("sending the file", errno);
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
                wait_for(err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline, "closing TLS");
            } catch (const NetError&) {
                break;
            }
        }
        ERR_clear_error();
    }
    ::shutdown(fd_.get(), SHUT_WR);
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
    const net::Address peer = net::detail::peer_of(fd_.get());
    if (peer.family() == net::Family::none) fail("finding the peer address", errno);
    return peer;
}

Channel connect_to(const std::string& host, const std::string& port, Millis timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) throw NetError(cat("can't resolve ", host, ": ", ::gai_strerror(rc)));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    int err = ENOENT;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        Channel channel = connect_address(ai->ai_addr, ai->ai_addrlen, timeout, err);
        if (err == 0) return channel;
    }
    throw NetError(cat("can't connect to ", host, " port ", port, ": ", std::strerror(err)));
}

Channel connect_to_port(const net::Address& peer, std::uint16_t port, Millis timeout) {
    net::Address target = peer;
    target.set_port(port);
    sockaddr_storage addr{};
    const socklen_t length = net::detail::to_sockaddr(target, addr);
    int err = 0;
    Channel channel = connect_address(reinterpret_cast<sockaddr*>(&addr), length, timeout, err);
    if (err != 0)
        throw ClientError(cat("can't open the data connection to ", describe(reinterpret_cast<sockaddr*>(&addr)), ": ",
                              std::strerror(err)));
    return channel;
}

}  // namespace ferry::client
