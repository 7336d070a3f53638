// The brute-force defender: failed logins are counted per client address (an IPv6 client per /64,
// as registrations are) and per account over a sliding window.
//  - An address with `ban_threshold` failures within `ban_window` is banned for `ban_time`, twice
//    as long at each new ban of the same address (up to `ban_time_max`). A banned address gets
//    421 at connect, before any argon2id work, and its open connections are closed.
//  - An account with `account_lock_threshold` failures within the window (from anywhere: a
//    distributed guesser) is locked for `ban_time`: its logins are refused without argon2id work,
//    except from addresses that logged in to it successfully before, so its owner is not locked out.
//  - Addresses in `trusted_networks` are never counted or banned (empty by default: loopback
//    is not exempt).
// Bans live in `bans_file` too, so they survive a restart and `ferryd ban list|remove` sees and
// edits them. Thread-safe; memory stays bounded (`max_tracked` addresses and accounts).
#pragma once
#include "auth/network.hpp"
#include "base/result.hpp"
#include "net/address.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::auth {

using WallClock = std::chrono::system_clock;

// The text of the 421 a banned address gets, at connect or when its session is closed.
inline constexpr std::string_view banned_reply = "Too many failed logins from your address; try again later.";

struct DefenderSettings {
    unsigned ban_threshold = 20;
    std::chrono::seconds ban_window{600};
    std::chrono::seconds ban_time{600};
    std::chrono::seconds ban_time_max{86400};
    unsigned account_lock_threshold = 100;  // 0 = accounts are never locked
    std::vector<std::string> trusted_networks;  // "203.0.113.0/24", "2001:db8::/48", "192.0.2.7"
    std::size_t max_tracked = 100'000;
};

struct Ban {
    std::string group;         // "203.0.113.7" or "2001:db8:1:2::/64"
    std::int64_t until = 0;    // unix seconds
    unsigned count = 0;        // bans of this group so far (the next one lasts twice as long)
    std::string reason;
};

// A failed login that another node saw (nodes sharing a database share their failures), for this
// node's count.
struct RemoteFailure {
    std::string address;
    std::string account;
    WallClock::time_point at;
};

// What a failed login led to, for the caller's log line and reply.
struct FailureOutcome {
    bool counted = false;           // false for trusted addresses: nothing to say about them
    unsigned address_failures = 0;  // within the window, this one included
    std::optional<Ban> new_ban;     // the address was banned by this failure
    bool account_locked_now = false;
};

class Defender {
public:
    explicit Defender(DefenderSettings settings);
    const DefenderSettings& settings() const { return settings_; }

    // "" when `ip` may connect; otherwise why not ("banned until 2026-12-01T08:30:00Z").
    std::string refusal(const std::string& ip, WallClock::time_point now);
    // True when logins to `user` are refused for `ip` now (account locked, `ip` not known good).
    bool account_locked(const std::string& user, const std::string& ip, WallClock::time_point now);
    FailureOutcome failed(const std::string& ip, const std::string& user, WallClock::time_point now);
    void succeeded(const std::string& ip, const std::string& user);
    bool trusted(const std::string& ip) const;

    std::vector<Ban> bans(WallClock::time_point now);
    // Replaces the bans with those of the file (after `ferryd ban remove`, or at start); bans made
    // here and not yet written to it (mark_saved) are kept.
    void set_bans(const std::vector<Ban>& bans);
    void mark_saved(const std::string& group);

private:
    using Times = std::deque<WallClock::time_point>;
    unsigned count_recent(Times& times, WallClock::time_point now);
    void sweep(WallClock::time_point now);

    DefenderSettings settings_;
    std::vector<Network> trusted_;
    std::mutex mutex_;
    std::unordered_map<std::string, Times> address_failures_;
    std::unordered_map<std::string, Times> account_failures_;
    std::map<std::string, Ban> bans_;                                       // by group
    std::set<std::string> unsaved_;                                         // banned, not yet in the file
    std::unordered_map<std::string, WallClock::time_point> account_locks_;  // user -> until
    std::unordered_map<std::string, std::set<std::string>> known_good_;     // user -> groups
    WallClock::time_point last_sweep_{};
};

// The bans file: TOML, `[bans."GROUP"]` with until, count, reason. Changes take its lock and
// replace it atomically, so the server and `ferryd ban` never lose each other's changes.
Result<std::vector<Ban>> load_bans(const std::string& path, std::string* error);
// Under the file's lock: read, `change`, write. `change` returns false to write nothing.
Status modify_bans(const std::string& path, const std::function<bool(std::vector<Ban>&)>& change, std::string* error);

std::string format_utc(std::int64_t unix_seconds);  // "2026-12-01T08:30:00Z"

}  // namespace ferry::auth
