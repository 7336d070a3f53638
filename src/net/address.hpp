// A socket address (IPv4 or IPv6) as a value.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace ferry::net {

class Address {
public:
    Address() = default;
    // "127.0.0.1:2121", "[::1]:2121", "0.0.0.0:21", "[::]:21". nullopt when malformed.
    static std::optional<Address> parse(std::string_view host_port);
    // A literal IP ("10.0.0.1", "::1") and a port. No name resolution, ever.
    static std::optional<Address> from_ip(std::string_view ip, std::uint16_t port);
    static Address local_of(int socket_fd);
    static Address peer_of(int socket_fd);
    static Address from_sockaddr(const sockaddr* sa, socklen_t len);

    int family() const;           // AF_INET / AF_INET6 / AF_UNSPEC when empty
    bool is_v4() const;           // AF_INET, or an IPv4-mapped IPv6 address
    std::string ip() const;       // "1.2.3.4" / "::1"; the mapped form is shown as plain IPv4
    std::uint16_t port() const;
    void set_port(std::uint16_t port);
    bool same_ip(const Address& other) const;  // ::ffff:1.2.3.4 equals 1.2.3.4
    std::string to_string() const;             // "1.2.3.4:21" / "[::1]:21"

    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t size() const { return size_; }

private:
    sockaddr_storage storage_{};
    socklen_t size_ = 0;
};

}  // namespace ferry::net
