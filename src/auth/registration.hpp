// Open self-registration (config `registration = "open"`): who may create an account, how often,
// and with which password.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::auth {

// At most `per_hour` registrations per client address in any sliding hour. Thread-safe.
//
// Addresses are grouped the way one client usually holds them: an IPv4 address counts alone, an
// IPv6 address counts for its whole /64 (one host gets a /64, so counting single IPv6 addresses
// would let it register without limit). IPv4-mapped IPv6 ("::ffff:1.2.3.4") counts as the IPv4
// address. Text that is no address at all counts as itself.
//
// Memory stays bounded: addresses with nothing in the last hour are forgotten, and at most
// `max_addresses` are tracked. When that many addresses registered within the hour, new addresses
// are refused (fail closed) until the oldest expire: a flood from many addresses then blocks
// registration for an hour rather than letting each of them register without limit.
class RegistrationLimiter {
public:
    using Clock = std::chrono::steady_clock;

    explicit RegistrationLimiter(unsigned per_hour, std::size_t max_addresses = 100'000);

    // True when `ip` may register now; the registration is then counted at once, so concurrent
    // attempts cannot both take the last slot. Call it after the name and password were found
    // acceptable and before the account is written; call refund() if writing it then failed.
    bool allow(const std::string& ip, Clock::time_point now);
    // Gives back the newest slot counted for `ip` (the account could not be created after all).
    void refund(const std::string& ip);

    // Registrations counted for the group of `ip` within the hour before `now` (for tests, logs).
    unsigned recent(const std::string& ip, Clock::time_point now);
    std::size_t tracked_addresses();

private:
    void forget_expired(Clock::time_point now);

    unsigned per_hour_;
    std::size_t max_addresses_;
    std::mutex mutex_;
    // Group key -> times of its registrations within the last hour, oldest first.
    std::unordered_map<std::string, std::vector<Clock::time_point>> recent_;
    Clock::time_point last_sweep_{};
};

// The key registrations of `ip` are counted under (see RegistrationLimiter).
std::string registration_group(const std::string& ip);

inline constexpr std::size_t max_password_bytes = 4096;

// "" when `password` is acceptable for a new account, otherwise the reason, written for the user:
// fewer than `min_length` characters (UTF-8 characters, not bytes), more than max_password_bytes, control
// characters (they cannot be typed back at a login prompt), not UTF-8, or one character repeated.
std::string check_new_password(std::string_view password, std::size_t min_length);

// "" when `name` may be registered (valid_user_name), otherwise the reason, written for the user.
std::string check_new_user_name(std::string_view name);

}  // namespace ferry::auth
