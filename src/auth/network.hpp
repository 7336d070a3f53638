// A network in CIDR notation ("203.0.113.0/24", "2001:db8::/48"; a bare address is one host), for
// the defender's trusted networks and the networks an account may log in from.
#pragma once
#include "net/address.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::auth {

class Network {
public:
    // nullopt for anything but a literal address with an optional prefix length within its family.
    static std::optional<Network> parse(std::string_view text);
    // An IPv4-mapped IPv6 address counts as the IPv4 one.
    bool contains(const std::string& ip) const;
    const std::string& text() const { return text_; }
    bool operator==(const Network& other) const { return text_ == other.text_; }

private:
    net::Ip ip_;
    unsigned prefix_ = 0;
    std::string text_;
};

// "10.0.0.0/8,192.0.2.7" -> the networks; nullopt with *bad set to the first word that is none.
std::optional<std::vector<Network>> parse_networks(std::string_view comma_list, std::string* bad);
// The networks' texts joined by commas.
std::string networks_text(const std::vector<Network>& networks);

}  // namespace ferry::auth
