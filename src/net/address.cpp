#include "net/address.hpp"

#include <algorithm>

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

bool is_mapped_v4(const Ip& ip) {
    if (ip.family != Family::v6) return false;
    const auto& b = ip.bytes;
    return std::all_of(b.begin(), b.begin() + 10, [](unsigned char c) { return c == 0; }) && b[10] == 0xff &&
           b[11] == 0xff;
}

}  // namespace

Ip Ip::unmapped() const {
    if (!is_mapped_v4(*this)) return *this;
    Ip v4;
    v4.family = Family::v4;
    std::copy(bytes.begin() + 12, bytes.end(), v4.bytes.begin());
    return v4;
}

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

std::optional<Address> Address::from_ip(std::string_view text, std::uint16_t port) {
    auto ip = Ip::parse(text);
    if (!ip) return std::nullopt;
    return Address(*ip, port);
}

bool Address::is_v4() const { return ip_.family == Family::v4 || is_mapped_v4(ip_); }

std::string Address::ip() const { return ip_.family == Family::none ? std::string() : ip_.unmapped().to_string(); }

bool Address::same_ip(const Address& other) const {
    if (family() == Family::none || other.family() == Family::none) return false;
    return ip_.unmapped() == other.ip_.unmapped();
}

std::string Address::to_string() const {
    if (family() == Family::none) return "";
    const std::string port_text = std::to_string(port());
    if (is_v4()) return ip() + ":" + port_text;
    return "[" + ip() + "]:" + port_text;
}

}  // namespace ferry::net
