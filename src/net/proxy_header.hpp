// The PROXY protocol header (HAProxy's "PROXY protocol", versions 1 and 2) that a TCP load
// balancer sends first on each connection it forwards, naming the client it came from.
//
//   v1: "PROXY TCP4 203.0.113.7 192.0.2.1 51234 21\r\n"   (text, at most 107 bytes)
//       "PROXY UNKNOWN ...\r\n"                            (the balancer does not know: keep ours)
//   v2: the 12-byte signature \r\n\r\n\0\r\nQUIT\n, version/command, family/protocol, a 16-bit
//       length, then the addresses and optional TLVs (ignored). LOCAL (health checks) and
//       families other than TCP over IPv4/IPv6 keep the connection's own address.
//
// Only the parsing is here (pure, fuzzed in tests/fuzz/fuzz_proxy_header.cpp); reading it off a
// socket without taking a byte that follows it is the backend's (net/linux/proxy_reader.cpp).
#pragma once
#include "net/address.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace ferry::net {

// The longest header accepted: a v2 header with this much address and TLV data is refused (HAProxy
// sends 12 to 36 bytes of addresses plus a few short TLVs; the protocol allows 65,535).
inline constexpr std::size_t max_proxy_header = 16 + 1024;

struct ProxyHeader {
    enum class Status { incomplete, invalid, done };
    Status status = Status::incomplete;
    std::size_t length = 0;         // bytes the header takes (done only)
    std::optional<Address> source;  // the client; nullopt = LOCAL/UNKNOWN: use the connection's
    std::optional<Address> destination;
    std::string error;              // why it is invalid, for the log line

    // An invalid header (or none: closed, too slow) and why, for the parser and the readers.
    static ProxyHeader invalid(std::string why) {
        ProxyHeader header;
        header.status = Status::invalid;
        header.error = std::move(why);
        return header;
    }
};

// Parses the start of a connection. incomplete: more bytes may make it a header (read more, up to
// max_proxy_header); invalid: it is not one, or a malformed one; done: `length` bytes are the header.
ProxyHeader parse_proxy_header(std::span<const char> data);

}  // namespace ferry::net
