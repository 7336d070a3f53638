// The client's socket calls on POSIX (see client/socket_ops.hpp).
#include "client/socket_ops.hpp"

#include "net/linux/sockaddr.hpp"
#include "sys/posix/errno.hpp"

#include <cerrno>
#include <memory>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

namespace ferry::client::detail {

std::vector<net::Address> resolve(const std::string& host, const std::string& port, std::string* error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        *error = ::gai_strerror(rc);
        return {};
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    std::vector<net::Address> addresses;
    for (addrinfo* ai = found; ai; ai = ai->ai_next)
        addresses.push_back(net::detail::from_sockaddr(ai->ai_addr, ai->ai_addrlen));
    return addresses;
}

Result<Socket> connect_socket(const net::Address& to, std::chrono::milliseconds timeout) {
    Socket fd(::socket(net::detail::native_family(to.family()), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return sys::last_error();
    sockaddr_storage addr{};
    const socklen_t len = net::detail::to_sockaddr(to, addr);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        if (errno != EINPROGRESS) return sys::last_error();
        if (Status err = wait_ready(fd, true, static_cast<int>(timeout.count()))) return err;
        int err = 0;
        socklen_t err_len = sizeof err;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return sys::last_error();
        if (err != 0) return sys::from_errno(err);
    }
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

Result<std::size_t> recv_some(const Socket& socket, std::span<char> buffer) {
    const ssize_t got = ::recv(socket.get(), buffer.data(), buffer.size(), 0);
    if (got >= 0) return static_cast<std::size_t>(got);
    return sys::last_error();  // EAGAIN is would_block, EINTR interrupted
}

Result<std::size_t> send_some(const Socket& socket, std::span<const char> bytes) {
    const ssize_t sent = ::send(socket.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    return sys::last_error();
}

Result<std::size_t> send_file_some(const Socket& socket, const File& file, std::uint64_t offset, std::size_t count) {
    off_t pos = static_cast<off_t>(offset);
    const ssize_t sent = ::sendfile(socket.get(), file.get(), &pos, count);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    return sys::last_error();
}

Status wait_ready(const Socket& socket, bool for_write, int timeout_ms) {
    pollfd p{socket.get(), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready > 0) return {};  // errors and hang-ups surface in the following call
    if (ready == 0) return Error(Errc::timed_out, ETIMEDOUT);
    return sys::last_error();
}

void shutdown_send(const Socket& socket) { ::shutdown(socket.get(), SHUT_WR); }

bool attach_ssl(SSL* ssl, const Socket& socket) { return SSL_set_fd(ssl, socket.get()) == 1; }

Error last_socket_error() { return sys::from_errno(errno); }

net::Address peer_of(const Socket& socket) { return net::detail::peer_of(socket.get()); }

}  // namespace ferry::client::detail
