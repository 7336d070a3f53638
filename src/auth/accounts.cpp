// The accounts file's format: validation, loading and writing (the set in memory is accounts_file.cpp;
// locking and the cache are in account_store.cpp).
#include "auth/accounts.hpp"

#include "base/size.hpp"
#include "sys/atomic_file.hpp"

#include <sodium.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <limits>

namespace ferry::auth {
namespace {

// Names that must never become FTP accounts (compared without case): system users, the
// anonymous-FTP conventions that clients treat specially, and Windows device names, which would
// make the home folder unusable there (also with an extension: "con.txt" is the console too).
// The one place this list lives.
constexpr std::array<std::string_view, 5> reserved_user_names = {"root", "ftp", "anonymous", "daemon", "nobody"};
constexpr std::array<std::string_view, 22> windows_device_names = {
    "con",  "prn",  "aux",  "nul",  "com1", "com2", "com3", "com4", "com5", "com6", "com7",
    "com8", "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9"};

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

const char* type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table: return "table";
        case toml::node_type::array: return "array";
        case toml::node_type::string: return "string";
        case toml::node_type::integer: return "integer";
        case toml::node_type::floating_point: return "float";
        case toml::node_type::boolean: return "boolean";
        case toml::node_type::date: return "date";
        case toml::node_type::time: return "time";
        case toml::node_type::date_time: return "date-time";
        default: return "nothing";
    }
}

// Thrown while reading one file; turned into the error text by load().
struct FormatError {
    std::string message;
};

[[noreturn]] void fail_at(const std::string& path, const toml::node& node, const std::string& what) {
    const auto& where = node.source().begin;
    throw FormatError{path + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + what};
}

std::string read_string(const std::string& path, const toml::node& node, const std::string& key) {
    if (!node.is_string()) fail_at(path, node, key + ": must be a string, got " + type_name(node));
    return node.value<std::string>().value_or("");
}

bool read_bool(const std::string& path, const toml::node& node, const std::string& key) {
    if (!node.is_boolean()) fail_at(path, node, key + ": must be true or false, got " + type_name(node));
    return *node.value<bool>();
}

// Integer bytes, or a size string such as "500M" or "unlimited".
std::uint64_t read_quota(const std::string& path, const toml::node& node, const std::string& key) {
    if (node.is_integer()) {
        const std::int64_t bytes = *node.value<std::int64_t>();
        if (bytes < 0) fail_at(path, node, key + ": must not be negative, got " + std::to_string(bytes));
        return static_cast<std::uint64_t>(bytes);
    }
    if (node.is_string()) {
        const std::string text = *node.value<std::string>();
        if (auto bytes = parse_size(text)) return *bytes;
        fail_at(path, node, key + ": not a size: \"" + text + "\" (examples: 104857600, \"500M\", \"unlimited\")");
    }
    fail_at(path, node, key + ": must be an integer or a size string, got " + type_name(node));
}

const toml::table& read_table(const std::string& path, const toml::node& node, const std::string& key) {
    const toml::table* table = node.as_table();
    if (!table) fail_at(path, node, key + ": must be a table, got " + type_name(node));
    return *table;
}

// Bytes per second: an integer or a size string ("500K"); 0 (or "unlimited") is no limit.
std::uint64_t read_rate(const std::string& path, const toml::node& node, const std::string& key) {
    const std::uint64_t rate = read_quota(path, node, key);
    return rate == unlimited_bytes ? 0 : rate;
}

std::vector<Network> read_networks(const std::string& path, const toml::node& node, const std::string& key) {
    const toml::array* list = node.as_array();
    if (!list) fail_at(path, node, key + ": must be an array of networks such as [\"10.0.0.0/8\"], got " + type_name(node));
    std::vector<Network> networks;
    for (const toml::node& entry : *list) {
        const std::string text = read_string(path, entry, key);
        auto network = Network::parse(text);
        if (!network) fail_at(path, entry, key + ": not a network in CIDR notation: \"" + text + "\"");
        networks.push_back(std::move(*network));
    }
    return networks;
}

Permissions read_permission_words(const std::string& path, const toml::node& value, const std::string& where) {
    const std::string words = read_string(path, value, where);
    std::string bad;
    auto permissions = Permissions::parse(words, &bad);
    if (!permissions) fail_at(path, value, where + ": unknown permission \"" + bad + "\" (known: list, download, upload, "
                                           "overwrite, delete, rename, mkdir, rmdir, chmod, hash, all, none)");
    return *permissions;
}

void read_permissions(const std::string& path, const toml::node& node, const std::string& key, Settings& settings) {
    for (const auto& [rule_key, value] : read_table(path, node, key)) {
        const std::string rule(rule_key.str());
        const std::string where = key + ".\"" + rule + "\"";
        std::string why;
        if (!rule_path(rule, &why)) fail_at(path, value, where + ": the path " + why);
        settings.permissions[rule] = read_permission_words(path, value, where);
    }
}

void read_limits(const std::string& path, const toml::node& node, const std::string& key, Limits& limits) {
    for (const auto& [field_key, value] : read_table(path, node, key)) {
        const std::string field(field_key.str());
        const std::string where = key + "." + field;
        if (field == "upload") limits.upload_rate = read_rate(path, value, where);
        else if (field == "download") limits.download_rate = read_rate(path, value, where);
        else if (field == "transfers") {
            const std::uint64_t count = read_quota(path, value, where);
            if (count > 100000) fail_at(path, value, where + ": at most 100000");
            limits.transfers = static_cast<unsigned>(count);
        } else fail_at(path, value, where + ": unknown field (known: upload, download, transfers)");
    }
}

// [PREFIX.folders.F] at = "/team", permissions = "all"
void read_folder_grants(const std::string& path, const toml::node& node, const std::string& key, Settings& settings) {
    for (const auto& [folder_key, value] : read_table(path, node, key)) {
        const std::string folder(folder_key.str());
        const std::string where = key + "." + folder;
        if (!valid_group_name(folder)) fail_at(path, value, where + ": not a valid folder name (letters, digits, . _ -)");
        FolderGrant grant{"", Permissions::all()};
        for (const auto& [field_key, field] : read_table(path, value, where)) {
            const std::string name(field_key.str());
            if (name == "at") grant.at = read_string(path, field, where + ".at");
            else if (name == "permissions") grant.permissions = read_permission_words(path, field, where + ".permissions");
            else fail_at(path, field, where + "." + name + ": unknown field (known: at, permissions)");
        }
        std::string why;
        if (!rule_path(grant.at, &why) || grant.at == "/")
            fail_at(path, value, where + ".at: the mount point " + (why.empty() ? "must not be /" : why));
        for (const auto& [other, taken] : settings.folders)
            if (mounts_nest(taken.at, grant.at))
                fail_at(path, value, where + ".at: " + grant.at + " would be a mount over folder " + other + "'s " + taken.at);
        settings.folders[folder] = std::move(grant);
    }
}

// permissions, folders, limits or networks of an account or a group; false for any other field.
bool read_settings_field(const std::string& path, const std::string& field, const toml::node& value,
                         const std::string& key, Settings& settings) {
    if (field == "permissions") {
        read_permissions(path, value, key, settings);
    } else if (field == "folders") {
        read_folder_grants(path, value, key, settings);
    } else if (field == "limits") {
        read_limits(path, value, key, settings.limits);
    } else if (field == "networks") {
        for (const auto& [list_key, list] : read_table(path, value, key)) {
            const std::string which(list_key.str());
            if (which == "allow") settings.allow = read_networks(path, list, key + ".allow");
            else if (which == "deny") settings.deny = read_networks(path, list, key + ".deny");
            else fail_at(path, list, key + "." + which + ": unknown field (known: allow, deny)");
        }
    } else {
        return false;
    }
    return true;
}

Group read_group(const std::string& path, std::string_view name, const toml::node& node) {
    const std::string prefix = "groups." + std::string(name);
    if (!valid_group_name(name)) fail_at(path, node, prefix + ": not a valid group name (letters, digits, . _ -)");
    Group group{std::string(name), {}};
    for (const auto& [field_key, value] : read_table(path, node, prefix)) {
        const std::string field(field_key.str());
        if (!read_settings_field(path, field, value, prefix + "." + field, group.settings))
            fail_at(path, value, prefix + "." + field + ": unknown field (known: permissions, folders, limits, networks)");
    }
    return group;
}

SharedFolder read_folder(const std::string& path, std::string_view name, const toml::node& node) {
    const std::string prefix = "folders." + std::string(name);
    if (!valid_group_name(name)) fail_at(path, node, prefix + ": not a valid folder name (letters, digits, . _ -)");
    SharedFolder folder{std::string(name), unlimited_bytes};
    for (const auto& [field_key, value] : read_table(path, node, prefix)) {
        if (field_key.str() == "quota") folder.quota = read_quota(path, value, prefix + ".quota");
        else fail_at(path, value, prefix + "." + std::string(field_key.str()) + ": unknown field (known: quota)");
    }
    return folder;
}

Account read_account(const std::string& path, std::string_view name, const toml::node& node) {
    const std::string prefix = "users." + std::string(name);
    const toml::table* fields = node.as_table();
    if (!fields) fail_at(path, node, prefix + ": must be a table, got " + type_name(node));

    Account account;
    account.name = std::string(name);
    for (const auto& [field_key, value] : *fields) {
        const std::string field(field_key.str());
        const std::string key = prefix + "." + field;
        if (field == "password") account.password_hash = read_string(path, value, key);
        else if (field == "home") account.home = read_string(path, value, key);
        else if (field == "quota") account.quota = read_quota(path, value, key);
        else if (field == "admin") account.admin = read_bool(path, value, key);
        else if (field == "disabled") account.disabled = read_bool(path, value, key);
        else if (field == "groups") {
            const toml::array* list = value.as_array();
            if (!list) fail_at(path, value, key + ": must be an array of group names, got " + type_name(value));
            for (const toml::node& entry : *list) account.groups.push_back(read_string(path, entry, key));
        } else if (field == "expires") {
            const std::string text = read_string(path, value, key);
            account.expires = Date::parse(text);
            if (!account.expires) fail_at(path, value, key + ": not a date YYYY-MM-DD: \"" + text + "\"");
        } else if (!read_settings_field(path, field, value, key, account.settings)) {
            // Refused rather than dropped: the next rewrite would otherwise silently lose it.
            fail_at(path, value, key + ": unknown field (known: password, home, quota, admin, disabled, groups, expires, "
                                       "permissions, folders, limits, networks)");
        }
    }
    if (account.home.empty()) account.home = account.name;
    if (!valid_home_path(account.home))
        fail_at(path, fields->contains("home") ? *fields->get("home") : node,
                prefix + ".home: must be a relative path without \"..\" and not in .deleted, got \"" + account.home + "\"");
    if (account.password_hash.empty()) fail_at(path, node, prefix + ".password: missing");
    if (!valid_password_hash(account.password_hash))
        fail_at(path, *fields->get("password"), prefix + ".password: not an argon2id hash (\"$argon2id$v=19$...\")");
    return account;
}

bool is_reserved(std::string_view name) {
    const std::string folded = folded_name(name);
    for (std::string_view reserved : reserved_user_names)
        if (folded == reserved) return true;
    const std::string_view stem = std::string_view(folded).substr(0, folded.find('.'));
    for (std::string_view device : windows_device_names)
        if (stem == device) return true;
    return false;
}

bool is_bare_key(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        // '.' is a key separator in TOML, so names containing it must be quoted.
        if (!(is_name_char(c) && c != '.')) return false;
    }
    return true;
}

std::string toml_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string toml_key(std::string_view key) { return is_bare_key(key) ? std::string(key) : toml_string(key); }

std::string toml_quota(std::uint64_t quota) {
    if (quota == unlimited_bytes) return "\"unlimited\"";
    // TOML integers are signed 64-bit; anything larger still round-trips as a size string.
    if (quota > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return "\"" + std::to_string(quota) + "\"";
    return std::to_string(quota);
}

std::string toml_strings(const std::vector<std::string>& texts) {
    std::string out = "[";
    for (const auto& text : texts) out += (out.size() > 1 ? ", " : "") + toml_string(text);
    return out + "]";
}

std::string toml_networks(const std::vector<Network>& networks) {
    std::vector<std::string> texts;
    for (const auto& network : networks) texts.push_back(network.text());
    return toml_strings(texts);
}

std::string toml_rate(std::uint64_t rate) { return toml_quota(rate); }

std::string table_name(std::string_view prefix, std::string_view table) {
    return prefix.empty() ? std::string(table) : std::string(prefix) + "." + std::string(table);
}

}  // namespace

std::string settings_toml(const Settings& settings, std::string_view prefix) {
    std::string out;
    if (!settings.permissions.empty()) {
        out += "[" + table_name(prefix, "permissions") + "]\n";
        for (const auto& [rule, permissions] : settings.permissions) out += toml_string(rule) + " = " + toml_string(permissions.text()) + "\n";
    }
    for (const auto& [folder, grant] : settings.folders) {
        out += "[" + table_name(prefix, "folders." + toml_key(folder)) + "]\n";
        out += "at = " + toml_string(grant.at) + "\npermissions = " + toml_string(grant.permissions.text()) + "\n";
    }
    const Limits& limits = settings.limits;
    if (limits != Limits{}) {
        out += "[" + table_name(prefix, "limits") + "]\n";
        if (limits.upload_rate) out += "upload = " + toml_rate(*limits.upload_rate) + "\n";
        if (limits.download_rate) out += "download = " + toml_rate(*limits.download_rate) + "\n";
        if (limits.transfers) out += "transfers = " + std::to_string(*limits.transfers) + "\n";
    }
    if (settings.allow || !settings.deny.empty()) {
        out += "[" + table_name(prefix, "networks") + "]\n";
        if (settings.allow) out += "allow = " + toml_networks(*settings.allow) + "\n";
        if (!settings.deny.empty()) out += "deny = " + toml_networks(settings.deny) + "\n";
    }
    return out;
}

std::optional<Settings> settings_from_toml(std::string_view text, std::string* error) {
    const std::string path = "settings";
    try {
        const toml::table root = toml::parse(text, path);
        Settings settings;
        for (const auto& [key, node] : root) {
            const std::string field(key.str());
            if (!read_settings_field(path, field, node, field, settings))
                fail_at(path, node, field + ": unknown table (known: permissions, folders, limits, networks)");
        }
        return settings;
    } catch (const toml::parse_error& e) {
        if (error) *error = std::string(e.description());
    } catch (const FormatError& e) {
        if (error) *error = e.message;
    }
    return std::nullopt;
}

bool valid_group_name(std::string_view name) {
    if (name.empty() || name.size() > max_user_name_length || name.front() == '.' || name.front() == '-') return false;
    return std::all_of(name.begin(), name.end(), is_name_char);
}

bool valid_user_name(std::string_view name) {
    if (name.empty() || name.size() > max_user_name_length) return false;
    if (name.front() == '.' || name.front() == '-') return false;
    for (char c : name) {
        if (!is_name_char(c)) return false;
    }
    return !is_reserved(name);
}

std::string folded_name(std::string_view name) {
    std::string folded(name);
    for (char& c : folded)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return folded;
}

bool valid_password_hash(std::string_view hash) {
    // crypto_pwhash_str_needs_rehash parses the string: -1 means it is not a hash at all.
    const std::string text(hash);
    return hash.starts_with("$argon2id$") && crypto_pwhash_str_needs_rehash(text.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != -1;
}

bool valid_home_path(std::string_view home) {
    if (home.empty() || home.front() == '/' || home.find('\0') != std::string_view::npos) return false;
    if (home.substr(0, home.find('/')) == deleted_homes_folder) return false;
    while (!home.empty()) {
        const std::size_t slash = home.find('/');
        const std::string_view component = home.substr(0, slash);
        if (component == "..") return false;
        if (slash == std::string_view::npos) break;
        home.remove_prefix(slash + 1);
    }
    return true;
}

bool homes_overlap(std::string_view a, std::string_view b) {
    const auto trimmed = [](std::string_view home) {
        while (home.ends_with('/')) home.remove_suffix(1);
        return home;
    };
    a = trimmed(a);
    b = trimmed(b);
    if (a.size() > b.size()) std::swap(a, b);
    return b.starts_with(a) && (b.size() == a.size() || b[a.size()] == '/');
}

const Account* account_with_overlapping_home(const AccountsFile& file, std::string_view home, std::string_view except) {
    for (const auto& [name, account] : file.all())
        if (name != except && homes_overlap(account.home, home)) return &account;
    return nullptr;
}

Result<AccountsFile> AccountsFile::load(const std::string& path, std::string* error) {
    auto failure = [&](Error err, const std::string& message) {
        if (error) *error = message;
        return Result<AccountsFile>::failure(err);
    };
    const auto text = read_whole_file(path);
    AccountsFile file;
    if (!text && text.error() == Errc::not_found) return file;
    if (!text) return failure(text.error(), "cannot read " + path + ": " + text.error().message());
    try {
        const toml::table root = toml::parse(*text, path);
        for (const auto& [key, node] : root) {
            if (key.str() == "groups") {
                for (const auto& [name, entry] : read_table(path, node, "groups"))
                    file.groups_.emplace(std::string(name.str()), read_group(path, name.str(), entry));
                continue;
            }
            if (key.str() == "folders") {
                for (const auto& [name, entry] : read_table(path, node, "folders"))
                    file.folders_.emplace(std::string(name.str()), read_folder(path, name.str(), entry));
                continue;
            }
            if (key.str() != "users")
                fail_at(path, node, "unknown top-level key \"" + std::string(key.str()) +
                                        "\" (expected [users.NAME], [groups.NAME] and [folders.NAME] tables)");
            for (const auto& [name, entry] : read_table(path, node, "users"))
                file.accounts_.emplace(std::string(name.str()), read_account(path, name.str(), entry));
        }
        const auto check_folders = [&](const Settings& settings, const std::string& table, const std::string& name) {
            for (const auto& grant : settings.folders)
                if (!file.find_folder(grant.first))
                    fail_at(path, *root.get(table)->as_table()->get(name),
                            table + "." + name + ".folders: no folder \"" + grant.first + "\" (add it: ferryd folder add " +
                                grant.first + ")");
        };
        for (const auto& [name, account] : file.accounts_) check_folders(account.settings, "users", name);
        for (const auto& [name, group] : file.groups_) check_folders(group.settings, "groups", name);
        for (const auto& [name, account] : file.accounts_)
            for (const auto& group : account.groups)
                if (!file.find_group(group))
                    fail_at(path, *root.get("users")->as_table()->get(name),
                            "users." + name + ".groups: no group \"" + group + "\" (add it: ferryd group add " + group + ")");
        file.mark_blocked();
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return failure(Errc::invalid, path + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
                                   std::string(e.description()));
    } catch (const FormatError& e) {
        return failure(Errc::invalid, e.message);
    }
    return file;
}

std::string AccountsFile::to_toml() const {
    std::string out =
        "# Ferry accounts, written by ferryd and `ferryd user`. Edit with `ferryd user ...`:\n"
        "# a hand edit while the server runs may be overwritten by the next change.\n";
    for (const auto& [name, account] : accounts_) {  // std::map: sorted by name, so output is stable
        out += "\n[users." + toml_key(name) + "]\n";
        out += "password = " + toml_string(account.password_hash) + "\n";
        out += "home = " + toml_string(account.home) + "\n";
        out += "quota = " + toml_quota(account.quota) + "\n";
        out += std::string("admin = ") + (account.admin ? "true" : "false") + "\n";
        out += std::string("disabled = ") + (account.disabled ? "true" : "false") + "\n";
        if (!account.groups.empty()) out += "groups = " + toml_strings(account.groups) + "\n";
        if (account.expires) out += "expires = " + toml_string(account.expires->text()) + "\n";
        out += settings_toml(account.settings, "users." + toml_key(name));
    }
    for (const auto& [name, group] : groups_) {
        out += "\n[groups." + toml_key(name) + "]\n";
        out += settings_toml(group.settings, "groups." + toml_key(name));
    }
    for (const auto& [name, folder] : folders_) out += "\n[folders." + toml_key(name) + "]\nquota = " + toml_quota(folder.quota) + "\n";
    return out;
}

}  // namespace ferry::auth
