#include "auth/network.hpp"

#include <charconv>
#include <cstring>

namespace ferry::auth {
namespace {

std::optional<net::Ip> parse_ip(const std::string& text) {
    auto ip = net::Ip::parse(text);
    if (!ip) return std::nullopt;
    return ip->unmapped();
}

}  // namespace

std::optional<Network> Network::parse(std::string_view text) {
    Network network;
    network.text_ = std::string(text);
    const auto slash = text.find('/');
    const std::string address(text.substr(0, slash));
    const auto ip = parse_ip(address);
    if (!ip) return std::nullopt;
    network.ip_ = *ip;
    const unsigned width = ip->family == net::Family::v4 ? 32 : 128;
    network.prefix_ = width;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        unsigned prefix = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || prefix > width)
            return std::nullopt;
        network.prefix_ = prefix;
    }
    return network;
}

bool Network::contains(const std::string& ip) const {
    const auto parsed = parse_ip(ip);
    if (!parsed || parsed->family != ip_.family) return false;
    const unsigned whole = prefix_ / 8, bits = prefix_ % 8;
    const auto& bytes = parsed->bytes;
    if (std::memcmp(bytes.data(), ip_.bytes.data(), whole) != 0) return false;
    if (bits == 0) return true;
    const auto mask = static_cast<unsigned char>(0xff << (8 - bits));
    return (bytes[whole] & mask) == (ip_.bytes[whole] & mask);
}

std::optional<std::vector<Network>> parse_networks(std::string_view comma_list, std::string* bad) {
    std::vector<Network> networks;
    while (!comma_list.empty()) {
        const auto comma = comma_list.find(',');
        const std::string_view word = comma_list.substr(0, comma);
        auto network = Network::parse(word);
        if (!network) {
            if (bad) *bad = std::string(word);
            return std::nullopt;
        }
        networks.push_back(std::move(*network));
        if (comma == std::string_view::npos) break;
        comma_list.remove_prefix(comma + 1);
    }
    return networks;
}

std::string networks_text(const std::vector<Network>& networks) {
    std::string text;
    for (const auto& network : networks) text += (text.empty() ? "" : ",") + network.text();
    return text;
}

}  // namespace ferry::auth
