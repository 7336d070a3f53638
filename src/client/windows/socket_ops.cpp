// The client's socket calls on Windows (see client/socket_ops.hpp): Winsock with WSAPoll.
#include "client/socket_ops.hpp"

#include "net/windows/sockaddr.hpp"
#include "sys/windows/wide.hpp"

#include <memory>
#include <mutex>

#include <openssl/ssl.h>

namespace ferry::client::detail {
namespace {

void start_winsock() {
    static std::once_flag once;
    std::call_once(once, [] {
        WSADATA data{};
        WSAStartup(MAKEWORD(2, 2), &data);
    });
}

}  // namespace

std::vector<net::Address> resolve(const std::string& host, const std::string& port, std::string* error) {
    start_winsock();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        *error = sys::windows::from_win32(static_cast<unsigned long>(rc)).message();
        return {};
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    std::vector<net::Address> addresses;
    for (addrinfo* ai = found; ai; ai = ai->ai_next)
        addresses.push_back(net::detail::from_sockaddr(ai->ai_addr, static_cast<int>(ai->ai_addrlen)));
    return addresses;
}

Result<Socket> connect_socket(const net::Address& to, std::chrono::milliseconds timeout) {
    start_winsock();
    Socket socket(::WSASocketW(net::detail::native_family(to.family()), SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                               WSA_FLAG_NO_HANDLE_INHERIT));
    if (!socket) return sys::windows::last_socket_error();
    u_long non_blocking = 1;
    if (::ioctlsocket(socket.get(), FIONBIO, &non_blocking) != 0) return sys::windows::last_socket_error();
    sockaddr_storage addr{};
    const int len = net::detail::to_sockaddr(to, addr);
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        if (WSAGetLastError() != WSAEWOULDBLOCK) return sys::windows::last_socket_error();
        // A refused connect shows as POLLERR/POLLHUP; SO_ERROR says why.
        if (Status err = wait_ready(socket, true, static_cast<int>(timeout.count()))) return err;
        int err = 0;
        int err_len = sizeof err;
        if (::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &err_len) != 0)
            return sys::windows::last_socket_error();
        if (err != 0) return sys::windows::from_win32(static_cast<unsigned long>(err));
    }
    const BOOL one = TRUE;
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
    return socket;
}

Result<std::size_t> recv_some(const Socket& socket, std::span<char> buffer) {
    const int got = ::recv(socket.get(), buffer.data(), static_cast<int>(std::min<std::size_t>(buffer.size(), 1 << 30)), 0);
    if (got >= 0) return static_cast<std::size_t>(got);
    return sys::windows::last_socket_error();
}

Result<std::size_t> send_some(const Socket& socket, std::span<const char> bytes) {
    const int sent = ::send(socket.get(), bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 30)), 0);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    return sys::windows::last_socket_error();
}

// TransmitFile wants an overlapped or blocking socket; the client reads and sends instead.
Result<std::size_t> send_file_some(const Socket&, const File&, std::uint64_t, std::size_t) {
    return Error(Errc::unsupported);
}

Status wait_ready(const Socket& socket, bool for_write, int timeout_ms) {
    WSAPOLLFD p{socket.get(), static_cast<SHORT>(for_write ? POLLWRNORM : POLLRDNORM), 0};
    const int ready = ::WSAPoll(&p, 1, timeout_ms);
    if (ready > 0) {
        if (for_write && (p.revents & (POLLERR | POLLHUP)) && !(p.revents & POLLWRNORM)) {
            int err = 0;
            int err_len = sizeof err;
            ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &err_len);
            if (err != 0) return sys::windows::from_win32(static_cast<unsigned long>(err));
        }
        return {};
    }
    if (ready == 0) return Error(Errc::timed_out, WSAETIMEDOUT);
    return sys::windows::last_socket_error();
}

void shutdown_send(const Socket& socket) { ::shutdown(socket.get(), SD_SEND); }

bool attach_ssl(SSL* ssl, const Socket& socket) { return SSL_set_fd(ssl, static_cast<int>(socket.get())) == 1; }

Error last_socket_error() { return sys::windows::last_socket_error(); }

net::Address peer_of(const Socket& socket) { return net::detail::peer_of(socket.get()); }

}  // namespace ferry::client::detail
