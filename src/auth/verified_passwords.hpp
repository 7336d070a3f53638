// Passwords that verified recently, so that a client's second, third, ... connection with the same
// password (lftp pget -n, rclone's pool, FileZilla's parallel transfers) skips argon2id.
//
// What is kept per account is a keyed BLAKE2b of (account, its stored argon2id hash, the password)
// under a key made at start-up and never written anywhere, and when it expires: not the password,
// nothing an attacker who reads memory could test guesses against offline without the key too. A
// login matches only with the password that last verified, against the very hash the account has
// now: a password change (here, from the shell, or on another node) changes the stored hash and
// with it every MAC, a disabled or deleted account is refused before this is asked. Any other
// password misses and pays the full argon2id, so guesses get no fast path. Thread-safe.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::auth {

class VerifiedPasswords {
public:
    using Clock = std::chrono::steady_clock;
    // ttl 0 = off (nothing is remembered). At most `capacity` accounts are remembered at once.
    explicit VerifiedPasswords(std::chrono::seconds ttl, std::size_t capacity = 100'000);

    bool enabled() const { return ttl_.count() > 0; }
    // True when `password` is the one that last verified for `user` with `stored_hash`, less than
    // the TTL ago (counted from that verification, not from later matches). Constant-time compare.
    bool matches(std::string_view user, std::string_view stored_hash, std::string_view password, Clock::time_point now);
    // After argon2id accepted `password`.
    void remember(std::string_view user, std::string_view stored_hash, std::string_view password, Clock::time_point now);
    std::size_t size() const;

private:
    using Mac = std::array<unsigned char, 32>;
    struct Entry {
        Mac mac;
        Clock::time_point expires;
    };
    Mac mac_of(std::string_view user, std::string_view stored_hash, std::string_view password) const;
    void drop_expired(Clock::time_point now);  // with mutex_ held

    std::chrono::seconds ttl_;
    std::size_t capacity_;
    std::array<unsigned char, 32> key_{};  // random, this process only
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;  // guarded by mutex_
};

}  // namespace ferry::auth
