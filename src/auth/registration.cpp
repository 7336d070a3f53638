#include "auth/registration.hpp"

#include "auth/accounts.hpp"

#include "net/address.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace ferry::auth {
namespace {

constexpr std::chrono::hours window{1};
// How often the whole map is scanned for expired addresses.
constexpr std::chrono::minutes sweep_interval{1};
// ... and, while the table is full, how often a new address may trigger a scan (each costs O(n)).
constexpr std::chrono::seconds full_sweep_interval{1};

// Drops the registrations of one address that are older than the window.
void drop_expired(std::vector<RegistrationLimiter::Clock::time_point>& times, RegistrationLimiter::Clock::time_point now) {
    const auto first_kept = std::find_if(times.begin(), times.end(), [&](auto time) { return now - time < window; });
    times.erase(times.begin(), first_kept);
}

// Number of UTF-8 characters in `text`, or nullopt when it is not valid UTF-8 (overlong forms,
// surrogates and values above U+10FFFF included).
std::optional<std::size_t> utf8_length(std::string_view text) {
    static constexpr std::array<std::uint32_t, 4> smallest_code = {0, 0x80, 0x800, 0x10000};
    std::size_t characters = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t extra;  // continuation bytes after the lead byte
        std::uint32_t code;
        if (lead < 0x80) {
            extra = 0, code = lead;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            extra = 1, code = lead & 0x1Fu;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            extra = 2, code = lead & 0x0Fu;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            extra = 3, code = lead & 0x07u;
        } else {
            return std::nullopt;
        }
        if (text.size() - i <= extra) return std::nullopt;  // cut short
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return std::nullopt;
            code = (code << 6) | (next & 0x3Fu);
        }
        if (code < smallest_code[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return std::nullopt;
        i += extra + 1;
        ++characters;
    }
    return characters;
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7F;
    });
}

bool one_repeated_character(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) { return c == text.front(); });
}

}  // namespace

std::string registration_group(const std::string& ip) {
    const auto parsed = net::Ip::parse(ip);
    if (!parsed) return ip;
    net::Ip group = parsed->unmapped();
    if (group.family == net::Family::v4) return group.to_string();  // canonical form
    std::fill(group.bytes.begin() + 8, group.bytes.end(), 0);      // keep the /64
    return group.to_string() + "/64";
}

RegistrationLimiter::RegistrationLimiter(unsigned per_hour, std::size_t max_addresses)
    : per_hour_(per_hour), max_addresses_(max_addresses) {}

void RegistrationLimiter::forget_expired(Clock::time_point now) {
    const bool full = recent_.size() >= max_addresses_;
    if (now - last_sweep_ < (full ? full_sweep_interval : sweep_interval)) return;
    last_sweep_ = now;
    // An address is done with when its newest registration left the window.
    std::erase_if(recent_, [&](const auto& entry) { return entry.second.empty() || now - entry.second.back() >= window; });
}

bool RegistrationLimiter::allow(const std::string& ip, Clock::time_point now) {
    const std::string group = registration_group(ip);
    std::lock_guard lock(mutex_);
    forget_expired(now);
    auto entry = recent_.find(group);
    if (entry == recent_.end()) {
        if (recent_.size() >= max_addresses_ || per_hour_ == 0) return false;
        entry = recent_.emplace(group, std::vector<Clock::time_point>{}).first;
    }
    drop_expired(entry->second, now);
    if (entry->second.size() >= per_hour_) return false;
    entry->second.push_back(now);
    return true;
}

void RegistrationLimiter::refund(const std::string& ip) {
    std::lock_guard lock(mutex_);
    auto entry = recent_.find(registration_group(ip));
    if (entry == recent_.end() || entry->second.empty()) return;
    entry->second.pop_back();
    if (entry->second.empty()) recent_.erase(entry);
}

unsigned RegistrationLimiter::recent(const std::string& ip, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto entry = recent_.find(registration_group(ip));
    if (entry == recent_.end()) return 0;
    drop_expired(entry->second, now);
    return static_cast<unsigned>(entry->second.size());
}

std::size_t RegistrationLimiter::tracked_addresses() {
    std::lock_guard lock(mutex_);
    return recent_.size();
}

std::string check_new_password(std::string_view password, std::size_t min_length) {
    if (password.size() > max_password_bytes)
        return "password too long: at most " + std::to_string(max_password_bytes) + " bytes";
    if (has_control_character(password)) return "password must not contain control characters";
    const auto characters = utf8_length(password);
    if (!characters) return "password must be valid UTF-8 text";
    if (*characters < min_length)
        return "password too short: at least " + std::to_string(min_length) + " characters, please";
    if (one_repeated_character(password)) return "password must not be one character repeated";
    return "";
}

std::string check_new_user_name(std::string_view name) {
    if (valid_user_name(name)) return "";
    return "\"" + std::string(name) + "\" is not a valid user name: 1 to 64 ASCII letters, digits, '.', '_' or '-', " +
           "not starting with '.' or '-', and not a reserved name like root, ftp, CON or NUL";
}

}  // namespace ferry::auth
