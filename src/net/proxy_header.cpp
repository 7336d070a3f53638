// PROXY protocol v1/v2 parsing (see proxy_header.hpp; the format is HAProxy's proxy-protocol.txt).
#include "net/proxy_header.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>

namespace ferry::net {
namespace {

using Status = ProxyHeader::Status;

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::size_t v1_max = 107;  // the spec's bound, "\r\n" included
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};

// Whether `data` so far is a prefix of `expected` (more bytes could complete it).
bool prefix_of(std::string_view data, std::string_view expected) {
    return data.size() < expected.size() && expected.starts_with(data);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

std::optional<Address> v1_address(std::string_view ip, std::string_view port, Family family) {
    const auto parsed_ip = Ip::parse(ip);
    const auto parsed_port = parse_port(port);
    if (!parsed_ip || !parsed_port || parsed_ip->family != family) return std::nullopt;
    return Address(*parsed_ip, *parsed_port);
}

// "TCP4 203.0.113.7 192.0.2.1 51234 21" (the line after "PROXY ", without "\r\n").
ProxyHeader parse_v1_fields(std::string_view line, std::size_t length) {
    ProxyHeader header;
    header.status = Status::done;
    header.length = length;
    if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return header;  // keep the connection's address

    std::string_view fields[5];
    std::size_t count = 0;
    while (count < 5) {
        const auto space = line.find(' ');
        fields[count++] = line.substr(0, space);
        if (space == std::string_view::npos) break;
        line.remove_prefix(space + 1);
        if (count == 5) return ProxyHeader::invalid("PROXY v1: too many fields");
    }
    if (count != 5) return ProxyHeader::invalid("PROXY v1: expected \"TCP4|TCP6 source destination sport dport\"");
    Family family = Family::none;
    if (fields[0] == "TCP4") family = Family::v4;
    else if (fields[0] == "TCP6") family = Family::v6;
    else return ProxyHeader::invalid("PROXY v1: unknown protocol \"" + std::string(fields[0]) + "\"");
    header.source = v1_address(fields[1], fields[3], family);
    header.destination = v1_address(fields[2], fields[4], family);
    if (!header.source || !header.destination) return ProxyHeader::invalid("PROXY v1: malformed address or port");
    return header;
}

ProxyHeader parse_v1(std::string_view data) {
    const auto end = data.find("\r\n");
    if (end == std::string_view::npos) {
        if (data.size() >= v1_max) return ProxyHeader::invalid("PROXY v1: no \"\\r\\n\" within 107 bytes");
        // Only a '\r' as the last byte so far may still become the end of the line.
        const auto control = data.find_first_of(std::string_view("\r\n\0", 3));
        if (control != std::string_view::npos && !(data[control] == '\r' && control + 1 == data.size()))
            return ProxyHeader::invalid("PROXY v1: stray control character");
        return {};
    }
    if (end + 2 > v1_max) return ProxyHeader::invalid("PROXY v1: longer than 107 bytes");
    const std::string_view line = data.substr(v1_prefix.size(), end - v1_prefix.size());
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return ProxyHeader::invalid("PROXY v1: stray control character");
    return parse_v1_fields(line, end + 2);
}

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

ProxyHeader parse_v2(std::span<const unsigned char> data) {
    if (data.size() < 16) return {};
    const unsigned version = data[12] >> 4, command = data[12] & 0x0f;
    if (version != 2) return ProxyHeader::invalid("PROXY v2: version " + std::to_string(version));
    if (command > 1) return ProxyHeader::invalid("PROXY v2: unknown command " + std::to_string(command));
    const std::size_t length = 16 + std::size_t{be16(&data[14])};
    if (length > max_proxy_header)
        return ProxyHeader::invalid("PROXY v2: header of " + std::to_string(length) + " bytes (at most " +
                       std::to_string(max_proxy_header) + ")");
    if (data.size() < length) return {};

    ProxyHeader header;
    header.status = Status::done;
    header.length = length;
    if (command == 0) return header;  // LOCAL: the balancer's own connection (a health check)
    const unsigned family = data[13] >> 4, transport = data[13] & 0x0f;
    if (family == 0) return header;   // UNSPEC: the balancer does not know
    if (transport != 1 && family <= 2) return ProxyHeader::invalid("PROXY v2: not a TCP connection");
    const std::size_t size = family == 1 ? 4 : family == 2 ? 16 : 0;
    if (size == 0) return header;     // AF_UNIX and others: no IP to take
    if (length - 16 < 2 * size + 4) return ProxyHeader::invalid("PROXY v2: addresses cut short");
    const unsigned char* p = &data[16];
    Ip source{family == 1 ? Family::v4 : Family::v6, {}}, destination = source;
    std::copy_n(p, size, source.bytes.begin());
    std::copy_n(p + size, size, destination.bytes.begin());
    header.source = Address(source, be16(p + 2 * size));
    header.destination = Address(destination, be16(p + 2 * size + 2));
    return header;
}

}  // namespace

ProxyHeader parse_proxy_header(std::span<const char> data) {
    const std::string_view text(data.data(), data.size());
    if (text.starts_with(v2_signature))
        return parse_v2({reinterpret_cast<const unsigned char*>(data.data()), data.size()});
    if (text.starts_with(v1_prefix)) return parse_v1(text);
    if (prefix_of(text, v2_signature) || prefix_of(text, v1_prefix)) return {};
    return ProxyHeader::invalid("no PROXY protocol header");
}

}  // namespace ferry::net
