#include "auth/defender.hpp"

#include "auth/registration.hpp"
#include "base/log.hpp"
#include "sys/atomic_file.hpp"
#include "sys/time.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace ferry::auth {
namespace {

constexpr auto sweep_interval = std::chrono::seconds(30);

std::int64_t unix_seconds(WallClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string format_utc(std::int64_t seconds) {
    const std::tm utc = sys::utc_time(seconds);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

// ---- Defender ----

Defender::Defender(DefenderSettings settings) : settings_(std::move(settings)) {
    for (const auto& text : settings_.trusted_networks)
        if (auto network = Network::parse(text)) trusted_.push_back(*network);
}

bool Defender::trusted(const std::string& ip) const {
    return std::any_of(trusted_.begin(), trusted_.end(), [&](const Network& n) { return n.contains(ip); });
}

unsigned Defender::count_recent(Times& times, WallClock::time_point now) {
    while (!times.empty() && now - times.front() > settings_.ban_window) times.pop_front();
    return static_cast<unsigned>(times.size());
}

// Forgets counters with nothing in the window and bans that ended. Called under the lock.
void Defender::sweep(WallClock::time_point now) {
    const bool full = address_failures_.size() >= settings_.max_tracked || account_failures_.size() >= settings_.max_tracked;
    if (!full && now - last_sweep_ < sweep_interval) return;
    last_sweep_ = now;
    // The newest failure left the window: nothing of that key counts any more.
    const auto stale = [&](const auto& entry) {
        return entry.second.empty() || now - entry.second.back() > settings_.ban_window;
    };
    std::erase_if(address_failures_, stale);
    std::erase_if(account_failures_, stale);
    std::erase_if(account_locks_, [&](const auto& entry) { return entry.second <= now; });
    // Ended bans are kept (their count makes the next one longer) until a day after they ended.
    std::erase_if(bans_, [&](const auto& entry) { return entry.second.until + 86400 < unix_seconds(now); });
}

std::string Defender::refusal(const std::string& ip, WallClock::time_point now) {
    if (trusted(ip)) return "";
    std::lock_guard lock(mutex_);
    auto ban = bans_.find(registration_group(ip));
    if (ban == bans_.end() || ban->second.until <= unix_seconds(now)) return "";
    return "banned until " + format_utc(ban->second.until);
}

bool Defender::account_locked(const std::string& user, const std::string& ip, WallClock::time_point now) {
    std::lock_guard lock(mutex_);
    auto locked = account_locks_.find(user);
    if (locked == account_locks_.end() || locked->second <= now) return false;
    auto good = known_good_.find(user);
    return good == known_good_.end() || !good->second.contains(registration_group(ip));
}

FailureOutcome Defender::failed(const std::string& ip, const std::string& user, WallClock::time_point now) {
    FailureOutcome outcome;
    if (trusted(ip)) return outcome;
    outcome.counted = true;
    const std::string group = registration_group(ip);
    std::lock_guard lock(mutex_);
    sweep(now);
    // Bounded memory: once full, new keys are not tracked (the ones already there still are).
    auto address = address_failures_.find(group);
    if (address == address_failures_.end() && address_failures_.size() < settings_.max_tracked)
        address = address_failures_.emplace(group, Times{}).first;
    if (address != address_failures_.end()) {
        address->second.push_back(now);
        outcome.address_failures = count_recent(address->second, now);
        if (outcome.address_failures >= settings_.ban_threshold) {
            Ban& ban = bans_[group];
            ban.group = group;
            ban.count = ban.until > unix_seconds(now) ? ban.count : ban.count + 1;
            auto length = settings_.ban_time;
            for (unsigned i = 1; i < ban.count && length < settings_.ban_time_max; ++i) length *= 2;
            length = std::min(length, settings_.ban_time_max);
            ban.until = unix_seconds(now) + length.count();
            ban.reason = cat(outcome.address_failures, " failed logins in ", settings_.ban_window.count(), " s");
            outcome.new_ban = ban;
            unsaved_.insert(group);
            address->second.clear();
        }
    }
    if (settings_.account_lock_threshold == 0) return outcome;
    auto account = account_failures_.find(user);
    if (account == account_failures_.end() && account_failures_.size() < settings_.max_tracked)
        account = account_failures_.emplace(user, Times{}).first;
    if (account == account_failures_.end()) return outcome;
    account->second.push_back(now);
    if (count_recent(account->second, now) >= settings_.account_lock_threshold) {
        outcome.account_locked_now = account_locks_.find(user) == account_locks_.end() || account_locks_[user] <= now;
        account_locks_[user] = now + settings_.ban_time;
        account->second.clear();
    }
    return outcome;
}

void Defender::succeeded(const std::string& ip, const std::string& user) {
    const std::string group = registration_group(ip);
    std::lock_guard lock(mutex_);
    auto& good = known_good_[user];
    if (good.size() < 64) good.insert(group);  // a handful of a user's own places is all it takes
}

std::vector<Ban> Defender::bans(WallClock::time_point now) {
    std::lock_guard lock(mutex_);
    std::vector<Ban> out;
    for (const auto& [group, ban] : bans_)
        if (ban.until > unix_seconds(now)) out.push_back(ban);
    return out;
}

void Defender::set_bans(const std::vector<Ban>& bans) {
    std::lock_guard lock(mutex_);
    std::erase_if(bans_, [&](const auto& entry) { return !unsaved_.contains(entry.first); });
    for (const Ban& ban : bans)
        if (!unsaved_.contains(ban.group)) bans_[ban.group] = ban;
}

void Defender::mark_saved(const std::string& group) {
    std::lock_guard lock(mutex_);
    unsaved_.erase(group);
}

// ---- the bans file ----

Result<std::vector<Ban>> load_bans(const std::string& path, std::string* error) {
    std::ifstream in(path, std::ios::binary);
    std::vector<Ban> bans;
    if (!in) return bans;  // no file: no bans
    std::ostringstream text;
    text << in.rdbuf();
    try {
        const toml::table root = toml::parse(text.str(), path);
        const toml::table* table = root["bans"].as_table();
        if (!table) return bans;
        for (const auto& [group, node] : *table) {
            const toml::table* fields = node.as_table();
            if (!fields) continue;
            Ban ban;
            ban.group = std::string(group.str());
            ban.until = (*fields)["until"].value_or<std::int64_t>(0);
            ban.count = static_cast<unsigned>((*fields)["count"].value_or<std::int64_t>(1));
            ban.reason = (*fields)["reason"].value_or<std::string>("");
            bans.push_back(std::move(ban));
        }
    } catch (const toml::parse_error& e) {
        if (error) *error = cat(path, ":", e.source().begin.line, ":", e.source().begin.column, ": ", e.description());
        return Result<std::vector<Ban>>::failure(Errc::invalid);
    }
    return bans;
}

namespace {
std::string bans_to_toml(const std::vector<Ban>& bans) {
    std::string out = "# Bans of ferryd's brute-force defender. See them with `ferryd ban list`,\n"
                      "# lift one with `ferryd ban remove ADDRESS`.\n";
    for (const Ban& ban : bans) {
        toml::table fields{{"until", ban.until}, {"count", static_cast<std::int64_t>(ban.count)}, {"reason", ban.reason}};
        std::ostringstream text;
        text << fields;
        out += "\n[bans.\"" + ban.group + "\"]  # until " + format_utc(ban.until) + "\n" + text.str() + "\n";
    }
    return out;
}
}  // namespace

Status modify_bans(const std::string& path, const std::function<bool(std::vector<Ban>&)>& change, std::string* error) {
    FileLock lock;
    if (const Status err = lock.acquire(path + ".lock")) {
        if (error) *error = cat("cannot lock ", path, ".lock: ", err.message());
        return err;
    }
    auto bans = load_bans(path, error);
    if (!bans) return bans.error();
    if (!change(*bans)) return {};
    return replace_file_atomically(path, bans_to_toml(*bans), error);
}

}  // namespace ferry::auth
