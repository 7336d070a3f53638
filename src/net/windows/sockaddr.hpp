// Address <-> SOCKADDR, and the addresses of a socket (the Windows backend only).
#pragma once
#include "net/address.hpp"

#include <winsock2.h>
#include <ws2tcpip.h>

namespace ferry::net::detail {

// Fills `storage` and returns its length; 0 for an empty Address.
socklen_t to_sockaddr(const Address& address, sockaddr_storage& storage);
Address from_sockaddr(const sockaddr* sa, socklen_t len);
int native_family(Family family);  // AF_INET / AF_INET6 / AF_UNSPEC
Address local_of(SOCKET socket);
Address peer_of(SOCKET socket);
// A new overlapped, non-inheritable TCP socket.
SOCKET new_tcp_socket(Family family);

}  // namespace ferry::net::detail
