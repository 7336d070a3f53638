#include "auth/policy.hpp"

#include "base/calendar.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

namespace ferry::auth {
namespace {

struct Word {
    std::string_view text;
    Permission permission;
};

constexpr std::array<Word, 10> permission_words{{
    {"list", Permission::list},
    {"download", Permission::download},
    {"upload", Permission::upload},
    {"overwrite", Permission::overwrite},
    {"delete", Permission::remove},
    {"rename", Permission::rename},
    {"mkdir", Permission::mkdir},
    {"rmdir", Permission::rmdir},
    {"chmod", Permission::chmod},
    {"hash", Permission::hash},
}};


template <class Number>
bool parse_digits(std::string_view text, Number& out) {
    if (text.empty()) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    return std::from_chars(text.data(), text.data() + text.size(), out).ec == std::errc();
}

}  // namespace

std::string_view permission_word(Permission permission) {
    for (const Word& word : permission_words)
        if (word.permission == permission) return word.text;
    return "?";
}

Permissions Permissions::all() {
    Permissions permissions;
    for (const Word& word : permission_words) permissions.bits_ |= static_cast<std::uint16_t>(word.permission);
    return permissions;
}

std::optional<Permissions> Permissions::parse(std::string_view comma_list, std::string* bad) {
    Permissions permissions;
    bool any = false;
    while (true) {
        const auto comma = comma_list.find(',');
        std::string_view word = comma_list.substr(0, comma);
        while (word.starts_with(' ')) word.remove_prefix(1);
        while (word.ends_with(' ')) word.remove_suffix(1);
        bool known = false;
        if (word == "all") {
            permissions = all();
            known = true;
        } else if (word == "none") {
            known = true;
        }
        for (const Word& entry : permission_words) {
            if (entry.text != word) continue;
            permissions.bits_ |= static_cast<std::uint16_t>(entry.permission);
            known = true;
        }
        if (!known) {
            if (bad) *bad = std::string(word);
            return std::nullopt;
        }
        any = true;
        if (comma == std::string_view::npos) break;
        comma_list.remove_prefix(comma + 1);
    }
    if (!any) return std::nullopt;
    return permissions;
}

std::string Permissions::text() const {
    if (*this == all()) return "all";
    if (empty()) return "none";
    std::string text;
    for (const Word& word : permission_words)
        if (has(word.permission)) text += (text.empty() ? "" : ",") + std::string(word.text);
    return text;
}

std::optional<std::string> rule_path(std::string_view text, std::string* why) {
    const auto refuse = [&](std::string reason) -> std::optional<std::string> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    if (!text.starts_with('/')) return refuse("must be an absolute virtual path such as / or /archive");
    if (text.find('\0') != std::string_view::npos) return refuse("must not contain a NUL byte");
    if (text == "/") return std::string(text);
    if (text.ends_with('/')) return refuse("must not end with /");
    std::string_view rest = text.substr(1);
    while (true) {
        const auto slash = rest.find('/');
        const std::string_view component = rest.substr(0, slash);
        if (component.empty() || component == "." || component == "..")
            return refuse("must not have empty, \".\" or \"..\" components");
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return std::string(text);
}

bool path_covers(std::string_view base, std::string_view vpath) {
    if (base == "/") return true;
    return vpath.starts_with(base) && (vpath.size() == base.size() || vpath[base.size()] == '/');
}

std::optional<Date> Date::parse(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    std::int64_t year = 0;
    unsigned month = 0, day = 0;
    if (!parse_digits(text.substr(0, 4), year) || !parse_digits(text.substr(5, 2), month) ||
        !parse_digits(text.substr(8, 2), day))
        return std::nullopt;
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
    return Date{days_from_civil(year, month, day)};
}

std::string Date::text() const {
    const CivilDate date = civil_from_days(days);
    char out[32];
    std::snprintf(out, sizeof out, "%04lld-%02u-%02u", static_cast<long long>(date.year), date.month, date.day);
    return out;
}

bool mounts_nest(std::string_view a, std::string_view b) { return path_covers(a, b) || path_covers(b, a); }

const EffectivePolicy::Mount* EffectivePolicy::mount_of(std::string_view vpath) const {
    for (const Mount& mount : mounts_)  // they never nest: at most one covers a path
        if (path_covers(mount.at, vpath)) return &mount;
    return nullptr;
}

const EffectivePolicy::Rule* EffectivePolicy::deciding_rule(std::string_view vpath) const {
    for (const Rule& rule : rules_)  // deepest first: the first that covers the path decides
        if (path_covers(rule.path, vpath)) return &rule;
    return nullptr;
}

bool EffectivePolicy::allows(Permission permission, std::string_view vpath) const {
    const Rule* rule = deciding_rule(vpath);
    return !rule || rule->permissions.has(permission);
}

bool EffectivePolicy::allows_any(std::string_view vpath) const {
    const Rule* rule = deciding_rule(vpath);
    return !rule || !rule->permissions.empty();
}

bool EffectivePolicy::allows_one_of(Permissions wanted, std::string_view vpath) const {
    const Rule* rule = deciding_rule(vpath);
    return !rule || rule->permissions.has_any(wanted);
}

const EffectivePolicy::Rule* EffectivePolicy::rule_beneath(std::string_view vpath) const {
    for (const Rule& rule : rules_)
        if (rule.path != vpath && path_covers(vpath, rule.path)) return &rule;
    return nullptr;
}

bool EffectivePolicy::admits(const std::string& ip) const {
    const auto in = [&](const std::vector<Network>& networks) {
        return std::any_of(networks.begin(), networks.end(), [&](const Network& n) { return n.contains(ip); });
    };
    if (in(deny_)) return false;
    return !allow_ || in(*allow_);
}

EffectivePolicy resolve_policy(std::string_view account_name, const Settings& own, const std::vector<const Group*>& groups,
                               const SharedFolders* folders) {
    EffectivePolicy policy;
    const auto add_rule = [&](const std::string& path, Permissions permissions, const std::string& from) {
        const bool taken = std::any_of(policy.rules_.begin(), policy.rules_.end(),
                                       [&](const EffectivePolicy::Rule& rule) { return rule.path == path; });
        if (!taken) policy.rules_.push_back({path, permissions, from});
    };
    const auto add_mount = [&](const std::string& folder, const FolderGrant& grant, const std::string& from) {
        if (grant.at == "/" || (folders && !folders->contains(folder))) return;
        for (const auto& mount : policy.mounts_)
            if (mount.folder == folder || mounts_nest(mount.at, grant.at)) return;
        const std::uint64_t quota = folders ? folders->find(folder)->second.quota : UINT64_MAX;
        policy.mounts_.push_back({grant.at, folder, from, quota});
        // As any rule: one set before for the same path (the account's own) wins.
        add_rule(grant.at, grant.permissions, from + ", folder " + folder);
    };
    const auto take = [&](const Settings& settings, const std::string& from) {
        for (const auto& rule : settings.permissions) add_rule(rule.first, rule.second, from);
        for (const auto& grant : settings.folders) add_mount(grant.first, grant.second, from);
        Limits& limits = policy.limits_;
        if (!limits.upload_rate) limits.upload_rate = settings.limits.upload_rate;
        if (!limits.download_rate) limits.download_rate = settings.limits.download_rate;
        if (!limits.transfers) limits.transfers = settings.limits.transfers;
        if (!policy.allow_) policy.allow_ = settings.allow;
        for (const Network& network : settings.deny)
            if (std::find(policy.deny_.begin(), policy.deny_.end(), network) == policy.deny_.end())
                policy.deny_.push_back(network);
    };
    take(own, std::string(account_name));
    for (const Group* group : groups) take(group->settings, "group " + group->name);
    // Deepest first, so the first rule covering a path is the one that decides; equal depths
    // cannot both cover one path.
    const auto depth = [](const std::string& path) { return path == "/" ? 0 : std::count(path.begin(), path.end(), '/'); };
    std::stable_sort(policy.rules_.begin(), policy.rules_.end(),
                     [&](const auto& a, const auto& b) { return depth(a.path) > depth(b.path); });
    std::stable_sort(policy.mounts_.begin(), policy.mounts_.end(),
                     [&](const auto& a, const auto& b) { return depth(a.at) > depth(b.at); });
    // A limit of 0 means none: keep it out of the effective limits, so `unrestricted` says so.
    Limits& limits = policy.limits_;
    if (limits.upload_rate == 0u) limits.upload_rate.reset();
    if (limits.download_rate == 0u) limits.download_rate.reset();
    if (limits.transfers == 0u) limits.transfers.reset();
    return policy;
}

}  // namespace ferry::auth
