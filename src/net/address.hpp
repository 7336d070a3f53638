// IP addresses and socket addresses (IPv4 or IPv6) as values. The conversions to and from the
// OS's sockaddr live with the socket backend (net/linux/sockaddr.hpp).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::net {

enum class Family : std::uint8_t { none, v4, v6 };

// An IP without a port: IPv4 in the first 4 bytes, IPv6 in all 16.
struct Ip {
    Family family = Family::none;
    std::array<unsigned char, 16> bytes{};
    bool operator==(const Ip&) const = default;

    // A literal IPv4 or IPv6 address ("10.0.0.1", "::1"); no name resolution, ever.
    static std::optional<Ip> parse(std::string_view text);
    // "1.2.3.4" / "::1" (the canonical text).
    std::string to_string() const;
    // ::ffff:1.2.3.4 -> 1.2.3.4; anything else unchanged.
    Ip unmapped() const;
};

class Address {
public:
    Address() = default;
    Address(Ip ip, std::uint16_t port, std::uint32_t scope_id = 0) : ip_(ip), port_(port), scope_id_(scope_id) {}
    // "127.0.0.1:2121", "[::1]:2121", "0.0.0.0:21", "[::]:21". nullopt when malformed.
    static std::optional<Address> parse(std::string_view host_port);
    // A literal IP ("10.0.0.1", "::1") and a port. No name resolution, ever.
    static std::optional<Address> from_ip(std::string_view ip, std::uint16_t port);

    Family family() const { return ip_.family; }
    bool is_v4() const;           // IPv4, or an IPv4-mapped IPv6 address
    std::string ip() const;       // "1.2.3.4" / "::1"; the mapped form is shown as plain IPv4
    const Ip& ip_value() const { return ip_; }
    std::uint16_t port() const { return port_; }
    void set_port(std::uint16_t port) { port_ = port; }
    std::uint32_t scope_id() const { return scope_id_; }  // IPv6 link-local interface
    bool same_ip(const Address& other) const;  // ::ffff:1.2.3.4 equals 1.2.3.4
    std::string to_string() const;             // "1.2.3.4:21" / "[::1]:21"

private:
    Ip ip_;
    std::uint16_t port_ = 0;
    std::uint32_t scope_id_ = 0;
};

}  // namespace ferry::net
