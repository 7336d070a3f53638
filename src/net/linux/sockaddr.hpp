// Address <-> sockaddr, and the addresses of a socket (the Linux backend only).
#pragma once
#include "net/address.hpp"

#include <sys/socket.h>

namespace ferry::net::detail {

// Fills `storage` and returns its length; 0 for an empty Address.
socklen_t to_sockaddr(const Address& address, sockaddr_storage& storage);
Address from_sockaddr(const sockaddr* sa, socklen_t len);
int native_family(Family family);  // AF_INET / AF_INET6 / AF_UNSPEC
Address local_of(int socket);
Address peer_of(int socket);

}  // namespace ferry::net::detail
