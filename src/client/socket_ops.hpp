// The client's socket calls, the only part of Channel (channel.hpp) that differs between
// platforms: client/posix/socket_ops.cpp (poll, fcntl, sendfile), client/windows/socket_ops.cpp
// (WSAPoll, ioctlsocket). Sockets are non-blocking; every wait is bounded by the caller.
#pragma once
#include "base/result.hpp"
#include "net/address.hpp"
#include "sys/handle.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <openssl/types.h>

namespace ferry::client::detail {

// Numeric addresses of host:port, in the resolver's order; empty with *error set on failure.
std::vector<net::Address> resolve(const std::string& host, const std::string& port, std::string* error);
// A non-blocking TCP connection to `to` within `timeout`, TCP_NODELAY set.
Result<Socket> connect_socket(const net::Address& to, std::chrono::milliseconds timeout);

// One recv/send: would_block when nothing can move now; 0 from recv is the peer's EOF.
Result<std::size_t> recv_some(const Socket& socket, std::span<char> buffer);
Result<std::size_t> send_some(const Socket& socket, std::span<const char> bytes);
// Kernel to socket where the platform can (sendfile); unsupported where it cannot, and the
// caller reads and sends.
Result<std::size_t> send_file_some(const Socket& socket, const File& file, std::uint64_t offset, std::size_t count);
// Until `socket` is readable (or writable) or `timeout_ms` passed: ok, timed_out, interrupted (a
// signal: the caller checks for Ctrl-C), or the error.
Status wait_ready(const Socket& socket, bool for_write, int timeout_ms);
void shutdown_send(const Socket& socket);

// SSL_set_fd on the socket (OpenSSL's socket BIO, which does not close it).
bool attach_ssl(SSL* ssl, const Socket& socket);
// The socket error behind SSL_ERROR_SYSCALL (errno or WSAGetLastError); ok when there is none.
Error last_socket_error();
net::Address peer_of(const Socket& socket);

}  // namespace ferry::client::detail
