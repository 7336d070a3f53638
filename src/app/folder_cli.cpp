#include "app/folder_cli.hpp"

#include "app/account_edits.hpp"
#include "base/size.hpp"

#include <iostream>

namespace ferry::app {
namespace {

constexpr std::string_view tool = "ferryd folder";

constexpr const char* usage_text =
    "usage: ferryd [--config FILE] folder COMMAND ...\n"
    "  add F [--quota SIZE]   a shared folder: <shared_root>/F, with a quota of its own\n"
    "                         (500M, 10G; 0 or unlimited = none, the default)\n"
    "  del F                  forget the folder and every grant of it (its files stay on disk)\n"
    "  list                   the folders, their quotas and who has them\n"
    "  quota F SIZE           change a folder's quota\n"
    "  grant F (--user NAME | --group G) --at /VPATH [--perm PERMS]\n"
    "                         mount F at /VPATH in the account's (or the group's members') tree,\n"
    "                         with PERMS there (as `ferryd user perm`; default all)\n"
    "  revoke F (--user NAME | --group G)\n";

std::uint64_t checked_quota(const std::string& text) {
    auto bytes = parse_size(text);
    if (!bytes) throw UsageError{"not a size: \"" + text + "\" (examples: 500M, 10G, unlimited)"};
    return *bytes == 0 ? unlimited_bytes : *bytes;  // a folder has no default quota to fall back to
}

std::string checked_folder_name(const std::string& name) {
    if (!auth::valid_group_name(name)) throw UsageError{"not a folder name: \"" + name + "\" (letters, digits, . _ -)"};
    return name;
}

std::string quota_text(std::uint64_t quota) { return quota == unlimited_bytes ? "unlimited" : format_size(quota); }

// --user NAME or --group G: the settings a grant goes into, or why not (a refusal exits 2).
struct Grantee {
    bool group = false;
    std::string name;
    std::string text() const { return (group ? "group " : "user ") + name; }
};

Grantee checked_grantee(const Words& parsed) {
    if (parsed.has("--user") == parsed.has("--group")) throw UsageError{"name exactly one of --user NAME or --group G"};
    return parsed.has("--user") ? Grantee{false, parsed.flags.at("--user")} : Grantee{true, parsed.flags.at("--group")};
}

auth::Settings* settings_of(auth::AccountsFile& file, const Grantee& grantee, std::string& why) {
    if (grantee.group) {
        if (auth::Group* group = file.find_group_mutable(grantee.name)) return &group->settings;
        why = "no such group: " + grantee.name;
    } else {
        if (auth::Account* account = file.find_mutable(grantee.name)) return &account->settings;
        why = "no such user: " + grantee.name;
    }
    return nullptr;
}

// A mount of another folder that `at` would nest with, in the grantee's tree (for an account, its
// groups' mounts too): "folder docs at /docs (group staff)"; "" if none.
std::string nesting_mount(const auth::AccountsFile& file, const Grantee& grantee, const std::string& folder, const std::string& at) {
    std::vector<std::pair<std::string, const auth::Settings*>> trees;
    if (grantee.group) {
        trees.emplace_back(grantee.text(), &file.find_group(grantee.name)->settings);
    } else {
        const auth::Account* account = file.find(grantee.name);
        trees.emplace_back(grantee.text(), &account->settings);
        for (const auto& name : account->groups)
            if (const auth::Group* group = file.find_group(name)) trees.emplace_back("group " + name, &group->settings);
    }
    for (const auto& [owner, settings] : trees)
        for (const auto& [other, grant] : settings->folders)
            if (other != folder && auth::mounts_nest(grant.at, at)) return "folder " + other + " at " + grant.at + " (" + owner + ")";
    return "";
}

int add_folder(const Config& config, const Words& parsed) {
    if (parsed.positional.size() != 1) throw UsageError{"add takes one folder name"};
    const std::string name = checked_folder_name(parsed.positional[0]);
    const std::uint64_t quota = parsed.has("--quota") ? checked_quota(parsed.flags.at("--quota")) : unlimited_bytes;
    const int result = change_accounts(config, tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        if (file.add_folder(auth::SharedFolder{name, quota})) return {};
        why = "folder " + name + " already exists";
        return Errc::exists;
    });
    if (result == exit_ok)
        std::cout << "added folder " << name << " (" << config.shared_root << "/" << name << "), quota " << quota_text(quota) << "\n";
    return result;
}

int delete_folder(const Config& config, const Words& parsed) {
    if (parsed.positional.size() != 1) throw UsageError{"del takes one folder name"};
    const std::string& name = parsed.positional[0];
    std::vector<std::string> grants;
    const int result = change_accounts(config, tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        grants = file.grants_of(name);
        if (file.remove_folder(name)) return {};
        why = "no such folder: " + name;
        return Errc::invalid;
    });
    if (result == exit_ok)
        std::cout << "deleted folder " << name << " and its " << grants.size() << " grants; its files stay in "
                  << config.shared_root << "/" << name << "\n";
    return result;
}

int list_folders(const Config& config, const Words& parsed) {
    if (!parsed.positional.empty()) throw UsageError{"list takes no arguments"};
    auto file = load_accounts(config, tool);
    if (!file) return exit_refused;
    if (file->folders().empty()) std::cout << "(no folders)\n";
    for (const auto& [name, folder] : file->folders()) {
        std::cout << name << "  quota " << quota_text(folder.quota) << ", granted to:";
        const auto grants = file->grants_of(name);
        for (const auto& grant : grants) std::cout << ' ' << grant;
        std::cout << (grants.empty() ? " nobody\n" : "\n");
    }
    return exit_ok;
}

int set_quota(const Config& config, const Words& parsed) {
    if (parsed.positional.size() != 2) throw UsageError{"quota takes a folder name and a SIZE"};
    const std::string& name = parsed.positional[0];
    const std::uint64_t quota = checked_quota(parsed.positional[1]);
    const int result = change_accounts(config, tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        auth::SharedFolder* folder = file.find_folder_mutable(name);
        if (!folder) {
            why = "no such folder: " + name;
            return Errc::invalid;
        }
        folder->quota = quota;
        return {};
    });
    if (result == exit_ok) std::cout << "folder " << name << ": quota " << quota_text(quota) << "\n";
    return result;
}

int grant(const Config& config, const Words& parsed) {
    if (parsed.positional.size() != 1) throw UsageError{"grant takes one folder name"};
    const std::string& name = parsed.positional[0];
    const Grantee grantee = checked_grantee(parsed);
    if (!parsed.has("--at")) throw UsageError{"grant needs --at /VPATH, where the folder appears"};
    const std::string at = checked_rule_path(parsed.flags.at("--at"));
    if (at == "/") throw UsageError{"--at /: a folder cannot be mounted over the whole home"};
    const auth::Permissions permissions =
        parsed.has("--perm") ? checked_permissions(parsed.flags.at("--perm")) : auth::Permissions::all();
    const int result = change_accounts(config, tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        if (!file.find_folder(name)) {
            why = "no such folder: " + name + " (ferryd folder add " + name + ")";
            return Errc::invalid;
        }
        auth::Settings* settings = settings_of(file, grantee, why);
        if (!settings) return Errc::invalid;
        if (const std::string other = nesting_mount(file, grantee, name, at); !other.empty()) {
            why = "--at " + at + " would be a mount over another mount: " + other;
            return Errc::invalid;
        }
        settings->folders[name] = auth::FolderGrant{at, permissions};
        return {};
    });
    if (result == exit_ok)
        std::cout << "folder " << name << " mounted at " << at << " for " << grantee.text() << " (" << permissions.text() << ")\n";
    return result;
}

int revoke(const Config& config, const Words& parsed) {
    if (parsed.positional.size() != 1) throw UsageError{"revoke takes one folder name"};
    const std::string& name = parsed.positional[0];
    const Grantee grantee = checked_grantee(parsed);
    const int result = change_accounts(config, tool, [&](auth::AccountsFile& file, std::string& why) -> Status {
        auth::Settings* settings = settings_of(file, grantee, why);
        if (!settings) return Errc::invalid;
        if (settings->folders.erase(name) == 1) return {};
        why = grantee.text() + " has no grant of folder " + name;
        return Errc::invalid;
    });
    if (result == exit_ok) std::cout << "folder " << name << " revoked from " << grantee.text() << "\n";
    return result;
}

int dispatch(const Config& config, const std::string& command, std::span<const std::string> words) {
    if (command == "add") return add_folder(config, parse_words(words, {"--quota"}));
    if (command == "del") return delete_folder(config, parse_words(words, {}));
    if (command == "list") return list_folders(config, parse_words(words, {}));
    if (command == "quota") return set_quota(config, parse_words(words, {}));
    if (command == "grant") return grant(config, parse_words(words, {"--user", "--group", "--at", "--perm"}));
    if (command == "revoke") return revoke(config, parse_words(words, {"--user", "--group"}));
    throw UsageError{"unknown command \"" + command + "\""};
}

}  // namespace

int run_folder_command(const Config& config, const std::vector<std::string>& args) {
    return run_subcommand(tool, usage_text, args, [&](const std::string& command, std::span<const std::string> words) {
        return dispatch(config, command, words);
    });
}

}  // namespace ferry::app
