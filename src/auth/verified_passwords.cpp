#include "auth/verified_passwords.hpp"

#include <cstdint>
#include <sodium.h>

namespace ferry::auth {
namespace {

// Each part is preceded by its length, so that no two different triples hash the same input.
void absorb(crypto_generichash_state& state, std::string_view part) {
    const std::uint64_t length = part.size();
    unsigned char prefix[8];
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(length >> (8 * i));
    crypto_generichash_update(&state, prefix, sizeof prefix);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part.data()), part.size());
}

}  // namespace

VerifiedPasswords::VerifiedPasswords(std::chrono::seconds ttl, std::size_t capacity)
    : ttl_(ttl), capacity_(capacity) {
    if (enabled()) randombytes_buf(key_.data(), key_.size());  // sodium_init() ran at start-up
}

VerifiedPasswords::Mac VerifiedPasswords::mac_of(std::string_view user, std::string_view stored_hash,
                                                 std::string_view password) const {
    crypto_generichash_state state;
    crypto_generichash_init(&state, key_.data(), key_.size(), sizeof(Mac));
    absorb(state, user);
    absorb(state, stored_hash);
    absorb(state, password);
    Mac mac;
    crypto_generichash_final(&state, mac.data(), mac.size());
    sodium_memzero(&state, sizeof state);
    return mac;
}

bool VerifiedPasswords::matches(std::string_view user, std::string_view stored_hash, std::string_view password,
                                Clock::time_point now) {
    if (!enabled() || stored_hash.empty()) return false;
    const Mac mac = mac_of(user, stored_hash, password);
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(std::string(user));
    if (it == entries_.end()) return false;
    if (now >= it->second.expires) {
        entries_.erase(it);
        return false;
    }
    return sodium_memcmp(mac.data(), it->second.mac.data(), mac.size()) == 0;
}

void VerifiedPasswords::remember(std::string_view user, std::string_view stored_hash, std::string_view password,
                                 Clock::time_point now) {
    if (!enabled() || stored_hash.empty()) return;
    const Entry entry{mac_of(user, stored_hash, password), now + ttl_};
    std::lock_guard lock(mutex_);
    if (entries_.size() >= capacity_ && !entries_.count(std::string(user))) {
        drop_expired(now);
        if (entries_.size() >= capacity_) return;  // full of live entries: this login is just not remembered
    }
    entries_[std::string(user)] = entry;
}

void VerifiedPasswords::drop_expired(Clock::time_point now) {
    std::erase_if(entries_, [now](const auto& item) { return now >= item.second.expires; });
}

std::size_t VerifiedPasswords::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace ferry::auth
