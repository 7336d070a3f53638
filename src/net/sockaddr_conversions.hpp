// Address <-> sockaddr and IP text, the same on every backend: the POSIX and Winsock structures
// and calls have the same names. Included once per build, by the backend's sockaddr.cpp, after its
// own headers (net/linux/sockaddr.cpp, net/windows/sockaddr.cpp); nothing else includes it.
#pragma once
#include "net/address.hpp"

#include <cstring>
#include <optional>
#include <string>

namespace ferry::net {

// Text <-> bytes with the OS's own parser: it knows every legal IPv6 spelling.
std::optional<Ip> Ip::parse(std::string_view text) {
    // inet_pton reads a C string: an embedded NUL would silently cut the text short.
    if (text.empty() || text.size() > INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos)
        return std::nullopt;
    const std::string copy(text);
    Ip ip;
    if (::inet_pton(AF_INET, copy.c_str(), ip.bytes.data()) == 1) {
        ip.family = Family::v4;
        return ip;
    }
    // Some parsers (Winsock's) take a "%scope" suffix; we never do.
    if (copy.find('%') == std::string::npos && ::inet_pton(AF_INET6, copy.c_str(), ip.bytes.data()) == 1) {
        ip.family = Family::v6;
        return ip;
    }
    return std::nullopt;
}

std::string Ip::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family == Family::none) return "";
    ::inet_ntop(family == Family::v4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
    return text;
}

namespace detail {

int native_family(Family family) { return family == Family::v4 ? AF_INET : family == Family::v6 ? AF_INET6 : AF_UNSPEC; }

socklen_t to_sockaddr(const Address& address, sockaddr_storage& storage) {
    storage = {};
    const Ip& ip = address.ip_value();
    if (ip.family == Family::v4) {
        auto& in4 = reinterpret_cast<sockaddr_in&>(storage);
        in4.sin_family = AF_INET;
        in4.sin_port = htons(address.port());
        std::memcpy(&in4.sin_addr, ip.bytes.data(), 4);
        return sizeof in4;
    }
    if (ip.family == Family::v6) {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(storage);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(address.port());
        in6.sin6_scope_id = address.scope_id();
        std::memcpy(&in6.sin6_addr, ip.bytes.data(), 16);
        return sizeof in6;
    }
    return 0;
}

Address from_sockaddr(const sockaddr* sa, socklen_t len) {
    if (sa == nullptr) return Address{};
    Ip ip;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in4 = reinterpret_cast<const sockaddr_in*>(sa);
        ip.family = Family::v4;
        std::memcpy(ip.bytes.data(), &in4->sin_addr, 4);
        return Address(ip, ntohs(in4->sin_port));
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        ip.family = Family::v6;
        std::memcpy(ip.bytes.data(), &in6->sin6_addr, 16);
        return Address(ip, ntohs(in6->sin6_port), in6->sin6_scope_id);
    }
    return Address{};
}

}  // namespace detail
}  // namespace ferry::net
