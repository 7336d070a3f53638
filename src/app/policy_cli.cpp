#include "app/policy_cli.hpp"

#include "app/account_edits.hpp"
#include "base/size.hpp"

#include <algorithm>
#include <charconv>
#include <iostream>
#include <map>

namespace ferry::app {

const char* const user_policy_usage =
    "  perm NAME PATH PERMS   permissions on a virtual path and beneath it: a comma list of list,\n"
    "                         download, upload, overwrite, delete, rename, mkdir, rmdir, chmod,\n"
    "                         hash, or all / none\n"
    "  perm NAME PATH --clear drop the account's rule for PATH\n"
    "  groups NAME G1,G2      the account's groups, in order (\"\" for none)\n"
    "  limit NAME [--up RATE] [--down RATE] [--transfers N]\n"
    "                         bandwidth per second (500K, 10M; 0 = none) and transfers at once\n"
    "  networks NAME [--allow CIDR,...] [--deny CIDR,...]\n"
    "                         where it may log in from (\"\" clears a list; deny wins)\n"
    "  expire NAME YYYY-MM-DD|never\n"
    "                         refuse logins from 00:00 UTC of that day\n"
    "  show NAME              the account, its groups and its effective policy\n";

namespace {

constexpr const char* group_usage_text =
    "usage: ferryd [--config FILE] group COMMAND ...\n"
    "  add G | del G          create or delete a group (a group with members is not deleted)\n"
    "  list                   show all groups\n"
    "  show G                 a group's settings and members\n"
    "  perm G PATH PERMS      as `ferryd user perm`, for the group's members\n"
    "  perm G PATH --clear\n"
    "  limit G [--up RATE] [--down RATE] [--transfers N]\n"
    "  networks G [--allow CIDR,...] [--deny CIDR,...]\n"
    "An account's own settings win, then its groups' in the order it lists them (ferryd user groups).\n";

void expect_positional(const Words& words, std::size_t count, std::string_view what) {
    if (words.positional.size() != count) throw UsageError{std::string(what)};
}

std::uint64_t checked_rate(const std::string& flag, const std::string& text) {
    auto bytes = parse_size(text);
    if (!bytes || *bytes == unlimited_bytes) throw UsageError{flag + ": not a rate: \"" + text + "\" (examples: 500K, 10M, 0 for none)"};
    return *bytes;
}

unsigned checked_count(const std::string& flag, const std::string& text) {
    unsigned count = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || count > 100000)
        throw UsageError{flag + ": not a count from 0 to 100000: \"" + text + "\""};
    return count;
}

std::vector<auth::Network> checked_networks(const std::string& flag, const std::string& text) {
    std::string bad;
    auto networks = auth::parse_networks(text, &bad);
    if (!networks) throw UsageError{flag + ": not a network in CIDR notation: \"" + bad + "\""};
    return *networks;
}

// An edit of the Settings of the account or group `name`, checked before the store is touched.
struct SettingsEdit {
    std::string name;
    std::function<void(auth::Settings&)> apply;
};

SettingsEdit perm_edit(std::span<const std::string> words) {
    const Words parsed = parse_words(words, {}, {"--clear"});
    const bool clear = parsed.has("--clear");
    expect_positional(parsed, clear ? 2 : 3, "perm takes a name, a PATH and PERMS (or --clear)");
    const std::string path = checked_rule_path(parsed.positional[1]);
    if (clear) return {parsed.positional[0], [path](auth::Settings& settings) { settings.permissions.erase(path); }};
    const auth::Permissions permissions = checked_permissions(parsed.positional[2]);
    return {parsed.positional[0], [path, permissions](auth::Settings& settings) { settings.permissions[path] = permissions; }};
}

SettingsEdit limit_edit(std::span<const std::string> words) {
    const Words parsed = parse_words(words, {"--up", "--down", "--transfers"});
    expect_positional(parsed, 1, "limit takes a name and --up, --down or --transfers");
    if (parsed.flags.empty()) throw UsageError{"limit needs --up, --down or --transfers"};
    auth::Limits wanted;
    if (parsed.has("--up")) wanted.upload_rate = checked_rate("--up", parsed.flags.at("--up"));
    if (parsed.has("--down")) wanted.download_rate = checked_rate("--down", parsed.flags.at("--down"));
    if (parsed.has("--transfers")) wanted.transfers = checked_count("--transfers", parsed.flags.at("--transfers"));
    return {parsed.positional[0], [wanted](auth::Settings& settings) {
                if (wanted.upload_rate) settings.limits.upload_rate = wanted.upload_rate;
                if (wanted.download_rate) settings.limits.download_rate = wanted.download_rate;
                if (wanted.transfers) settings.limits.transfers = wanted.transfers;
            }};
}

SettingsEdit networks_edit(std::span<const std::string> words) {
    const Words parsed = parse_words(words, {"--allow", "--deny"});
    expect_positional(parsed, 1, "networks takes a name and --allow or --deny");
    if (parsed.flags.empty()) throw UsageError{"networks needs --allow or --deny"};
    std::optional<std::vector<auth::Network>> allow, deny;
    if (parsed.has("--allow")) allow = checked_networks("--allow", parsed.flags.at("--allow"));
    if (parsed.has("--deny")) deny = checked_networks("--deny", parsed.flags.at("--deny"));
    return {parsed.positional[0], [allow, deny](auth::Settings& settings) {
                if (allow) settings.allow = allow->empty() ? std::nullopt : allow;  // "": no allow list, any network
                if (deny) settings.deny = *deny;
            }};
}

// The edits that accounts and groups share; nullopt for another command.
std::optional<SettingsEdit> settings_edit(const std::string& command, std::span<const std::string> words) {
    if (command == "perm") return perm_edit(words);
    if (command == "limit") return limit_edit(words);
    if (command == "networks") return networks_edit(words);
    return std::nullopt;
}

std::string rate_text(const std::optional<std::uint64_t>& rate) {
    if (!rate) return "-";
    return *rate == 0 ? "none" : format_size(*rate) + "/s";
}

void print_settings(const auth::Settings& settings, std::string_view indent) {
    for (const auto& [path, permissions] : settings.permissions) std::cout << indent << path << " = " << permissions.text() << "\n";
    const auth::Limits& limits = settings.limits;
    if (limits != auth::Limits{})
        std::cout << indent << "limits: upload " << rate_text(limits.upload_rate) << ", download " << rate_text(limits.download_rate)
                  << ", transfers " << (limits.transfers ? std::to_string(*limits.transfers) : "-") << "\n";
    if (settings.allow) std::cout << indent << "allow: " << auth::networks_text(*settings.allow) << "\n";
    if (!settings.deny.empty()) std::cout << indent << "deny: " << auth::networks_text(settings.deny) << "\n";
}

// ---- ferryd user (the policy's commands)

constexpr std::string_view user_tool = "ferryd user";

// Applies `edit` to account NAME (the first positional word).
int edit_account(const Config& config, const std::string& name, const std::function<void(auth::Account&)>& edit) {
    return change_accounts(config, user_tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        auth::Account* account = file.find_mutable(name);
        if (!account) {
            why = "no such user: " + name;
            return Errc::invalid;
        }
        edit(*account);
        return {};
    });
}

int set_groups(const Config& config, std::span<const std::string> words) {
    const Words parsed = parse_words(words, {});
    expect_positional(parsed, 2, "groups takes a user name and a comma list of groups (\"\" for none)");
    const std::string& name = parsed.positional[0];
    std::vector<std::string> groups;
    for (std::string_view list = parsed.positional[1]; !list.empty();) {
        const auto comma = list.find(',');
        const std::string group(list.substr(0, comma));
        if (!auth::valid_group_name(group)) throw UsageError{"not a group name: \"" + group + "\""};
        if (std::find(groups.begin(), groups.end(), group) != groups.end()) throw UsageError{"group " + group + " named twice"};
        groups.push_back(group);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    const int result = change_accounts(config, user_tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        auth::Account* account = file.find_mutable(name);
        if (!account) why = "no such user: " + name;
        for (const auto& group : groups)
            if (why.empty() && !file.find_group(group)) why = "no such group: " + group + " (ferryd group add " + group + ")";
        if (!why.empty()) return Errc::invalid;
        account->groups = groups;
        return {};
    });
    if (result == exit_ok) std::cout << "groups of " << name << ": " << (groups.empty() ? "none" : parsed.positional[1]) << "\n";
    return result;
}

int set_expiry(const Config& config, std::span<const std::string> words) {
    const Words parsed = parse_words(words, {});
    expect_positional(parsed, 2, "expire takes a user name and a date YYYY-MM-DD, or never");
    const std::string& name = parsed.positional[0];
    std::optional<auth::Date> expires;
    if (parsed.positional[1] != "never") {
        expires = auth::Date::parse(parsed.positional[1]);
        if (!expires) throw UsageError{"not a date YYYY-MM-DD: \"" + parsed.positional[1] + "\""};
    }
    const int result = edit_account(config, name, [&](auth::Account& account) { account.expires = expires; });
    if (result == exit_ok)
        std::cout << name << (expires ? " expires at 00:00 UTC of " + expires->text() : std::string(" never expires")) << "\n";
    return result;
}

int show_user(const Config& config, std::span<const std::string> words) {
    const Words parsed = parse_words(words, {});
    expect_positional(parsed, 1, "show takes a user name");
    const std::string& name = parsed.positional[0];
    auto file = load_accounts(config, user_tool);
    if (!file) return exit_refused;
    const auth::Account* account = file->find(name);
    if (!account) {
        refuse(user_tool, "no such user: " + name);
        return exit_usage;
    }
    std::cout << "user " << account->name << "\n  home: " << account->home << "\n  quota: "
              << (account->quota == 0 ? "default" : format_size(account->quota)) << "\n  admin: " << (account->admin ? "yes" : "no")
              << "\n  disabled: " << (account->disabled ? "yes" : "no")
              << "\n  expires: " << (account->expires ? account->expires->text() : "never") << "\n  groups:";
    for (const auto& group : account->groups) std::cout << ' ' << group;
    std::cout << (account->groups.empty() ? " none\n" : "\n");
    const auth::EffectivePolicy policy = file->policy_of(*account);
    std::cout << "effective policy (the account's own settings, then its groups' in order):\n";
    if (policy.rules().empty()) std::cout << "  / = all (no rules)\n";
    for (auto rule = policy.rules().rbegin(); rule != policy.rules().rend(); ++rule)  // shallowest first
        std::cout << "  " << rule->path << " = " << rule->permissions.text() << "   (" << rule->from << ")\n";
    const auth::Limits& limits = policy.limits();
    std::cout << "  upload: " << rate_text(limits.upload_rate.value_or(0)) << ", download: " << rate_text(limits.download_rate.value_or(0))
              << ", transfers at once: " << (limits.transfers ? std::to_string(*limits.transfers) : "no limit") << "\n";
    std::cout << "  log in from: " << (policy.allow() ? auth::networks_text(*policy.allow()) : std::string("any network"));
    if (!policy.deny().empty()) std::cout << ", except " << auth::networks_text(policy.deny());
    std::cout << "\n";
    return exit_ok;
}

// ---- ferryd group

constexpr std::string_view group_tool = "ferryd group";

std::string single_group(std::span<const std::string> words, std::string_view command) {
    const Words parsed = parse_words(words, {});
    if (parsed.positional.size() != 1) throw UsageError{std::string(command) + " takes exactly one group name"};
    return parsed.positional[0];
}

int add_group(const Config& config, std::span<const std::string> words) {
    const std::string name = single_group(words, "add");
    if (!auth::valid_group_name(name)) throw UsageError{"not a group name: \"" + name + "\" (letters, digits, . _ -)"};
    const int result = change_accounts(config, group_tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        if (file.add_group(auth::Group{name, {}})) return {};
        why = "group " + name + " already exists";
        return Errc::exists;
    });
    if (result == exit_ok) std::cout << "added group " << name << "\n";
    return result;
}

int delete_group(const Config& config, std::span<const std::string> words) {
    const std::string name = single_group(words, "del");
    const int result = change_accounts(config, group_tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        if (!file.find_group(name)) {
            why = "no such group: " + name;
            return Errc::invalid;
        }
        if (const auto members = file.members_of(name); !members.empty()) {
            why = "group " + name + " has members (" + members.front() + (members.size() > 1 ? ", ..." : "") +
                  "); take them out first with ferryd user groups";
            return Errc::busy;
        }
        file.remove_group(name);
        return {};
    });
    if (result == exit_ok) std::cout << "deleted group " << name << "\n";
    return result;
}

int list_groups(const Config& config, std::span<const std::string> words) {
    if (!parse_words(words, {}).positional.empty()) throw UsageError{"list takes no arguments"};
    auto file = load_accounts(config, group_tool);
    if (!file) return exit_refused;
    if (file->groups().empty()) std::cout << "(no groups)\n";
    for (const auto& [name, group] : file->groups())
        std::cout << name << "  members " << file->members_of(name).size() << ", rules " << group.settings.permissions.size() << "\n";
    return exit_ok;
}

int show_group(const Config& config, std::span<const std::string> words) {
    const std::string name = single_group(words, "show");
    auto file = load_accounts(config, group_tool);
    if (!file) return exit_refused;
    const auth::Group* group = file->find_group(name);
    if (!group) {
        refuse(group_tool, "no such group: " + name);
        return exit_usage;
    }
    std::cout << "group " << name << "\n  members:";
    const auto members = file->members_of(name);
    for (const auto& member : members) std::cout << ' ' << member;
    std::cout << (members.empty() ? " none\n" : "\n");
    if (group->settings.empty()) std::cout << "  (no settings)\n";
    print_settings(group->settings, "  ");
    return exit_ok;
}

int edit_group_settings(const Config& config, const std::string& command, std::span<const std::string> words) {
    const SettingsEdit edit = *settings_edit(command, words);
    const std::string& name = edit.name;
    const int result = change_accounts(config, group_tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        auth::Group* group = file.find_group_mutable(name);
        if (!group) {
            why = "no such group: " + name;
            return Errc::invalid;
        }
        edit.apply(group->settings);
        return {};
    });
    if (result == exit_ok) std::cout << "group " << name << ": " << command << " changed\n";
    return result;
}

int dispatch_group(const Config& config, const std::string& command, std::span<const std::string> words) {
    if (command == "add") return add_group(config, words);
    if (command == "del") return delete_group(config, words);
    if (command == "list") return list_groups(config, words);
    if (command == "show") return show_group(config, words);
    if (command == "perm" || command == "limit" || command == "networks") return edit_group_settings(config, command, words);
    throw UsageError{"unknown command \"" + command + "\""};
}

}  // namespace

std::optional<int> run_user_policy_command(const Config& config, const std::string& command, std::span<const std::string> words) {
    if (command == "groups") return set_groups(config, words);
    if (command == "expire") return set_expiry(config, words);
    if (command == "show") return show_user(config, words);
    auto edit = settings_edit(command, words);
    if (!edit) return std::nullopt;
    const std::string& name = edit->name;
    const int result = edit_account(config, name, [&](auth::Account& account) { edit->apply(account.settings); });
    if (result == exit_ok) std::cout << "user " << name << ": " << command << " changed\n";
    return result;
}

int run_group_command(const Config& config, const std::vector<std::string>& args) {
    return run_subcommand(group_tool, group_usage_text, args, [&](const std::string& command, std::span<const std::string> words) {
        return dispatch_group(config, command, words);
    });
}

}  // namespace ferry::app
