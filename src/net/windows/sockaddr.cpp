#include "net/windows/sockaddr.hpp"

#include "net/sockaddr_conversions.hpp"

namespace ferry::net::detail {
namespace {

using NameCall = int(WSAAPI*)(SOCKET, sockaddr*, int*);

Address address_from(NameCall call, SOCKET socket) {
    sockaddr_storage storage{};
    int len = sizeof storage;
    if (call(socket, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return Address{};
    return from_sockaddr(reinterpret_cast<sockaddr*>(&storage), len);
}

}  // namespace

Address local_of(SOCKET socket) { return address_from(::getsockname, socket); }
Address peer_of(SOCKET socket) { return address_from(::getpeername, socket); }

SOCKET new_tcp_socket(Family family) {
    return ::WSASocketW(native_family(family), SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
}

}  // namespace ferry::net::detail
