#include "net/address.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <netinet/in.h>

namespace ferry::net {
namespace {

// Digits only, 1..5 of them, value <= 65535. No sign, no spaces, no hex: a port is typed, not computed.
std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// The address as 16 bytes of IPv6, IPv4 in its mapped form, so both families compare alike.
std::array<unsigned char, 16> as_v6_bytes(const sockaddr_storage& storage) {
    std::array<unsigned char, 16> bytes{};
    if (storage.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
        std::memcpy(bytes.data(), &in6.sin6_addr, 16);
    } else if (storage.ss_family == AF_INET) {
        const auto& in4 = reinterpret_cast<const sockaddr_in&>(storage);
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        std::memcpy(bytes.data() + 12, &in4.sin_addr, 4);
    }
    return bytes;
}

bool is_mapped_v4(const sockaddr_storage& storage) {
    if (storage.ss_family != AF_INET6) return false;
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
    return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr);
}

using NameCall = int (*)(int, sockaddr*, socklen_t*);

Address address_from(NameCall call, int socket_fd) {
    sockaddr_storage storage{};
    socklen_t len = sizeof storage;
    if (call(socket_fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return Address{};
    return Address::from_sockaddr(reinterpret_cast<sockaddr*>(&storage), len);
}

}  // namespace

std::optional<Address> Address::parse(std::string_view host_port) {
    std::string_view ip;
    std::string_view port;
    if (!host_port.empty() && host_port.front() == '[') {
        // "[v6]:port": the brackets are mandatory for IPv6 so that the last colon is unambiguous.
        auto close = host_port.find(']');
        if (close == std::string_view::npos || close + 1 >= host_port.size() || host_port[close + 1] != ':')
            return std::nullopt;
        ip = host_port.substr(1, close - 1);
        port = host_port.substr(close + 2);
        if (ip.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]:21" is not IPv6
    } else {
        auto colon = host_port.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        ip = host_port.substr(0, colon);
        port = host_port.substr(colon + 1);
        if (ip.find(':') != std::string_view::npos) return std::nullopt;  // unbracketed IPv6
    }
    auto port_number = parse_port(port);
    if (!port_number) return std::nullopt;
    return from_ip(ip, *port_number);
}

std::optional<Address> Address::from_ip(std::string_view ip, std::uint16_t port) {
    // inet_pton reads a C string: an embedded NUL would silently cut the text short.
    if (ip.empty() || ip.size() > INET6_ADDRSTRLEN || ip.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string text(ip);
    Address address;
    sockaddr_in in4{};
    if (::inet_pton(AF_INET, text.c_str(), &in4.sin_addr) == 1) {
        in4.sin_family = AF_INET;
        in4.sin_port = htons(port);
        std::memcpy(&address.storage_, &in4, sizeof in4);
        address.size_ = sizeof in4;
        return address;
    }
    sockaddr_in6 in6{};
    if (::inet_pton(AF_INET6, text.c_str(), &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        std::memcpy(&address.storage_, &in6, sizeof in6);
        address.size_ = sizeof in6;
        return address;
    }
    return std::nullopt;
}

Address Address::local_of(int socket_fd) { return address_from(::getsockname, socket_fd); }
Address Address::peer_of(int socket_fd) { return address_from(::getpeername, socket_fd); }

Address Address::from_sockaddr(const sockaddr* sa, socklen_t len) {
    Address address;
    if (sa == nullptr) return address;
    const bool v4 = sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in));
    const bool v6 = sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6));
    if (!v4 && !v6) return address;
    address.size_ = v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&address.storage_, sa, address.size_);
    return address;
}

int Address::family() const { return size_ == 0 ? AF_UNSPEC : storage_.ss_family; }

bool Address::is_v4() const { return family() == AF_INET || is_mapped_v4(storage_); }

std::string Address::ip() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET || is_mapped_v4(storage_)) {
        auto bytes = as_v6_bytes(storage_);
        ::inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
    } else if (family() == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(storage_).sin6_addr, text, sizeof text);
    }
    return text;
}

std::uint16_t Address::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(storage_).sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(storage_).sin6_port);
    return 0;
}

void Address::set_port(std::uint16_t port) {
    if (family() == AF_INET) reinterpret_cast<sockaddr_in&>(storage_).sin_port = htons(port);
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6&>(storage_).sin6_port = htons(port);
}

bool Address::same_ip(const Address& other) const {
    if (family() == AF_UNSPEC || other.family() == AF_UNSPEC) return false;
    return as_v6_bytes(storage_) == as_v6_bytes(other.storage_);
}

std::string Address::to_string() const {
    if (family() == AF_UNSPEC) return "";
    const std::string port_text = std::to_string(port());
    if (is_v4()) return ip() + ":" + port_text;
    return "[" + ip() + "]:" + port_text;
}

}  // namespace ferry::net
