#include "net/linux/sockaddr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "net/sockaddr_conversions.hpp"

namespace ferry::net::detail {

namespace {
using NameCall = int (*)(int, sockaddr*, socklen_t*);

Address address_from(NameCall call, int socket) {
    sockaddr_storage storage{};
    socklen_t len = sizeof storage;
    if (call(socket, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return Address{};
    return from_sockaddr(reinterpret_cast<sockaddr*>(&storage), len);
}
}  // namespace

Address local_of(int socket) { return address_from(::getsockname, socket); }
Address peer_of(int socket) { return address_from(::getpeername, socket); }

}  // namespace ferry::net::detail
