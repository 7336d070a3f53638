#include "app/user_cli.hpp"

#include "app/account_edits.hpp"
#include "app/policy_cli.hpp"

#include "app/privileges.hpp"
#include "app/stores.hpp"

#include "auth/accounts.hpp"
#include "auth/password.hpp"
#include "auth/registration.hpp"
#include "base/size.hpp"
#include "fs/home.hpp"
#include "fs/home_folders.hpp"
#include "sys/atomic_file.hpp"
#include "sys/terminal.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <optional>
#include <span>

namespace ferry::app {
namespace {

constexpr std::string_view tool = "ferryd user";

constexpr const char* usage_text =
    "usage: ferryd [--config FILE] user COMMAND ...\n"
    "  add NAME [--quota SIZE] [--admin] [--home DIR [--adopt]] [--password-stdin]\n"
    "                         create an account and its home folder (DIR is relative to root);\n"
    "                         a folder that exists already is refused unless --adopt says to\n"
    "                         give it (and the files in it) to the new account\n"
    "  del NAME [--purge]     delete an account; its home moves to ROOT/.deleted/NAME-<UTC time>\n"
    "                         (removed after deleted_retention days), or is removed with --purge\n"
    "  rename OLD NEW         rename an account (and its home folder, when named after it)\n"
    "  passwd NAME [--password-stdin]\n"
    "                         set a new password\n"
    "  quota NAME SIZE        set the quota: bytes, 500M, 1.5G, unlimited, or default\n"
    "  disable NAME           refuse logins for the account\n"
    "  enable NAME            allow logins again\n"
    "  list                   show all accounts\n"
    "  rescan NAME            set the stored usage from the home (accounts = \"postgresql\": several\n"
    "                         nodes count uploads in the database; refused while uploads run)\n";
constexpr const char* passwords_note =
    "Passwords are read from the terminal without echo, or as one line from stdin with\n"
    "--password-stdin. They must be at least min_password_length characters (see the config; 8 by\n"
    "default).\n";

struct Options {
    std::vector<std::string> names;  // positional words
    std::optional<std::string> quota;
    std::optional<std::string> home;
    bool admin = false;
    bool password_stdin = false;
    bool adopt = false;
    bool purge = false;
};

int refuse(const std::string& why) { return app::refuse(tool, why); }

// `allowed` lists the flags this subcommand takes; "--flag=value" and "--flag value" both work.
Options parse_options(std::span<const std::string> words, std::initializer_list<std::string_view> allowed) {
    std::vector<std::string_view> valued, bare;
    for (std::string_view flag : allowed) (flag == "--quota" || flag == "--home" ? valued : bare).push_back(flag);
    Words parsed = parse_words(words, valued, bare);
    Options options;
    options.names = std::move(parsed.positional);
    for (const auto& [flag, value] : parsed.flags) {
        if (flag == "--quota") options.quota = value;
        else if (flag == "--home") options.home = value;
        else if (flag == "--admin") options.admin = true;
        else if (flag == "--password-stdin") options.password_stdin = true;
        else if (flag == "--adopt") options.adopt = true;
        else if (flag == "--purge") options.purge = true;
    }
    return options;
}

// By value: callers often pass a temporary Options.
std::string single_name(const Options& options, std::string_view command) {
    if (options.names.size() != 1) throw UsageError{std::string(command) + " takes exactly one user name"};
    return options.names.front();
}

// "default" means 0 (the config's default_quota).
std::uint64_t parse_quota(const std::string& text) {
    if (text == "default") return 0;
    auto bytes = parse_size(text);
    if (!bytes) throw UsageError{"not a size: \"" + text + "\" (examples: 104857600, 500M, 1.5G, unlimited, default)"};
    return *bytes;
}

std::string describe_quota(std::uint64_t quota, const Config& config) {
    if (quota == 0) return "default (" + format_size(config.default_quota) + ")";
    return format_size(quota);
}

std::optional<std::string> ask_tty(const sys::Tty& tty, std::string_view prompt) {
    if (!tty.write(prompt)) return std::nullopt;
    std::optional<std::string> line;
    {
        // Typed-ahead input is dropped (it may have been echoed); the Enter is not echoed.
        sys::EchoOff quiet(tty, {.discard_typed_ahead = true, .echo_newline = false});
        line = tty.read_line(4096);
    }
    tty.write("\n");  // the user's Enter was not echoed
    return line;
}

// The new password, or nullopt after telling the user why not.
std::optional<std::string> read_new_password(bool from_stdin, std::size_t min_length) {
    std::optional<std::string> password;
    if (from_stdin) {
        password = sys::read_standard_input_line(4096);
        if (!password) {
            refuse("--password-stdin: no password on stdin");
            return std::nullopt;
        }
    } else {
        const auto tty = sys::Tty::open();
        if (!tty) {
            refuse("no terminal to ask for the password on; use --password-stdin");
            return std::nullopt;
        }
        password = ask_tty(*tty, "New password: ");
        auto again = password ? ask_tty(*tty, "Repeat password: ") : std::nullopt;
        if (!password || !again) {
            refuse("could not read the password from the terminal");
            return std::nullopt;
        }
        if (*password != *again) {
            refuse("the passwords did not match; nothing changed");
            return std::nullopt;
        }
    }
    if (!password->empty() && password->back() == '\r') password->pop_back();  // CRLF input
    if (std::string problem = auth::check_new_password(*password, min_length); !problem.empty()) {
        refuse(problem);
        return std::nullopt;
    }
    return password;
}

std::string home_folder(const Config& config, const std::string& home) { return config.root + "/" + home; }

int change_accounts(const Config& config, const std::function<Status(auth::AccountsFile&, std::string& why)>& change) {
    return app::change_accounts(config, tool, change);
}

std::optional<auth::AccountsFile> load_accounts(const Config& config) { return app::load_accounts(config, tool); }

// Why `name` cannot be added to `file`, or "" (case-insensitive, as AccountsFile::add decides).
std::string name_taken(const auth::AccountsFile& file, const std::string& name) {
    const auth::Account* same = file.find_folded(name);
    if (!same) return "";
    if (same->name == name) return "user " + name + " already exists";
    return "user " + same->name + " exists, and names are compared without regard to case";
}

// Homes never nest: an account whose home held another's would reach that account's files.
std::string home_nested(const auth::AccountsFile& file, const std::string& home) {
    const auth::Account* other = auth::account_with_overlapping_home(file, home);
    if (!other) return "";
    return "the home " + home + " and the home " + other->home + " of user " + other->name +
           (other->home == home ? " are the same folder" : " lie one inside the other") + "; homes may not nest";
}

// A new account's home must not hold anyone's files yet, unless the admin adopts it on purpose.
std::string home_problem(const Config& config, const std::string& home, bool adopt) {
    auto exists = fs::home_exists(config.root, home);
    if (!exists) return "cannot check " + home_folder(config, home) + ": " + exists.error().message();
    if (*exists && !adopt)
        return "the folder " + home_folder(config, home) + " exists already (an earlier account's files?); "
               "move it away, or give it to the new account with --home " + home + " --adopt";
    return "";
}

int add_user(const Config& config, std::span<const std::string> words) {
    const Options options = parse_options(words, {"--quota", "--admin", "--home", "--password-stdin", "--adopt"});
    const std::string name = single_name(options, "add");
    const std::uint64_t quota = options.quota ? parse_quota(*options.quota) : 0;
    if (std::string problem = auth::check_new_user_name(name); !problem.empty()) return refuse(problem);
    const std::string home = options.home.value_or(name);
    if (!auth::valid_home_path(home))
        return refuse("--home must be a relative path without \"..\" and not in .deleted, got \"" + home + "\"");
    if (options.adopt && !options.home) throw UsageError{"--adopt needs --home DIR: say which folder to adopt"};

    auto existing = load_accounts(config);
    if (!existing) return exit_refused;
    if (std::string taken = name_taken(*existing, name); !taken.empty()) return refuse(taken);
    if (std::string nested = home_nested(*existing, home); !nested.empty()) return refuse(nested);
    if (std::string problem = home_problem(config, home, options.adopt); !problem.empty()) return refuse(problem);
    auto password = read_new_password(options.password_stdin, config.min_password_length);
    if (!password) return exit_refused;

    const auth::Account account{.name = name, .password_hash = auth::hash_password(*password), .home = home,
                                .quota = quota, .admin = options.admin, .disabled = false, .groups = {}, .settings = {},
                                .expires = {}, .blocked = {}};
    const int result = change_accounts(config, [&](auth::AccountsFile& file, std::string& why) -> Status {
        why = name_taken(file, name);
        if (why.empty()) why = home_nested(file, home);  // again, under the lock
        if (why.empty()) why = home_problem(config, home, options.adopt);
        if (!why.empty()) return Errc::exists;
        // Created under the lock, so a refused add never leaves a stray folder behind.
        if (const Status err = make_folders(home_folder(config, home), 0750)) {
            why = "cannot create home folder " + home_folder(config, home) + ": " + err.message();
            return err;
        }
        hand_over(config, home_folder(config, home));
        file.add(account);
        return {};
    });
    if (result == exit_ok)
        std::cout << "added user " << name << " (home " << home_folder(config, home) << (options.adopt ? ", adopted" : "")
                  << ", quota " << describe_quota(quota, config) << (options.admin ? ", admin" : "") << ")\n";
    return result;
}

// For del/disable/enable/quota: apply `edit` to the existing account NAME.
int edit_user(const Config& config, const std::string& name, const std::function<void(auth::AccountsFile&)>& edit) {
    return change_accounts(config, [&](auth::AccountsFile& file, std::string& why) -> Status {
        if (!file.find(name)) {
            why = "no such user: " + name;
            return Errc::not_found;
        }
        edit(file);
        return {};
    });
}

// The home of a deleted account never stays where a new account of that name would find it.
int delete_user(const Config& config, std::span<const std::string> words) {
    const Options options = parse_options(words, {"--purge"});
    const std::string name = single_name(options, "del");
    std::string home;
    std::string outcome;
    const int result = change_accounts(config, [&](auth::AccountsFile& file, std::string& why) -> Status {
        const auth::Account* account = file.find(name);
        if (!account) {
            why = "no such user: " + name;
            return Errc::not_found;
        }
        home = account->home;
        // Before the account goes: if the folder cannot be moved, nothing changes.
        if (options.purge) {
            if (const Status err = fs::purge_home(config.root, home); err && err != Errc::not_found) {
                why = "cannot remove " + home_folder(config, home) + ": " + err.message();
                return err;
            }
            outcome = "its home " + home_folder(config, home) + " was removed";
        } else {
            auto retired = fs::retire_home(config.root, home, name, std::time(nullptr));
            if (!retired && retired.error() != Errc::not_found) {
                why = "cannot move " + home_folder(config, home) + " out of the way: " + retired.error().message();
                return retired.error();
            }
            outcome = retired ? "its home was moved to " + *retired : "it had no home folder";
        }
        file.remove(name);
        return {};
    });
    if (result == exit_ok) std::cout << "deleted user " << name << "; " << outcome << "\n";
    return result;
}

int rename_user(const Config& config, std::span<const std::string> words) {
    const Options options = parse_options(words, {});
    if (options.names.size() != 2) throw UsageError{"rename takes the old and the new user name"};
    const std::string& from = options.names[0];
    const std::string& to = options.names[1];
    if (std::string problem = auth::check_new_user_name(to); !problem.empty()) return refuse(problem);
    std::string moved;
    const int result = change_accounts(config, [&](auth::AccountsFile& file, std::string& why) -> Status {
        const auth::Account* account = file.find(from);
        if (!account) {
            why = "no such user: " + from;
            return Errc::not_found;
        }
        const auth::Account* same = file.find_folded(to);
        if (same && same->name != from) {
            why = name_taken(file, to);
            return Errc::exists;
        }
        auth::Account renamed = *account;
        renamed.name = to;
        if (account->home == from) {  // a home named after the account follows it
            const auth::Account* other = auth::account_with_overlapping_home(file, to, from);
            if (std::string problem = other ? home_nested(file, to) : home_problem(config, to, false); !problem.empty()) {
                why = problem;
                return Errc::exists;
            }
            const std::string old_path = home_folder(config, from), new_path = home_folder(config, to);
            if (const Status err = rename_path(old_path, new_path); err && err != Errc::not_found) {
                why = "cannot rename " + old_path + " to " + new_path + ": " + err.message();
                return err;
            }
            renamed.home = to;
            moved = ", home " + new_path;
        }
        file.remove(from);
        file.add(renamed);
        return {};
    });
    if (result == exit_ok) std::cout << "renamed user " << from << " to " << to << moved << "\n";
    return result;
}

int change_password(const Config& config, std::span<const std::string> words) {
    const Options options = parse_options(words, {"--password-stdin"});
    const std::string name = single_name(options, "passwd");
    auto existing = load_accounts(config);
    if (!existing) return exit_refused;
    if (!existing->find(name)) return refuse("no such user: " + name);
    auto password = read_new_password(options.password_stdin, config.min_password_length);
    if (!password) return exit_refused;
    const std::string hash = auth::hash_password(*password);
    const int result = edit_user(config, name, [&](auth::AccountsFile& file) { file.find_mutable(name)->password_hash = hash; });
    if (result == exit_ok) std::cout << "password changed for " << name << "\n";
    return result;
}

int set_quota(const Config& config, std::span<const std::string> words) {
    const Options options = parse_options(words, {});
    if (options.names.size() != 2) throw UsageError{"quota takes a user name and a size"};
    const std::string& name = options.names[0];
    const std::uint64_t quota = parse_quota(options.names[1]);
    const int result = edit_user(config, name, [&](auth::AccountsFile& file) { file.find_mutable(name)->quota = quota; });
    if (result == exit_ok) std::cout << "quota of " << name << " is now " << describe_quota(quota, config) << "\n";
    return result;
}

int set_disabled(const Config& config, std::span<const std::string> words, bool disabled) {
    const std::string name = single_name(parse_options(words, {}), disabled ? "disable" : "enable");
    const int result =
        edit_user(config, name, [&](auth::AccountsFile& file) { file.find_mutable(name)->disabled = disabled; });
    if (result == exit_ok) std::cout << "user " << name << (disabled ? " disabled" : " enabled") << "\n";
    return result;
}

// What the home holds now, as the server counts it (sizes of regular files); "-" when unreadable.
std::string describe_usage(const Config& config, const auth::Account& account) {
    auto home = fs::Home::open(config.root, account.home, false);
    if (!home) return "-";
    auto used = home->usage();
    return used ? format_size(*used) : "-";
}

int list_users(const Config& config, std::span<const std::string> words) {
    if (!parse_options(words, {}).names.empty()) throw UsageError{"list takes no arguments"};
    auto file = load_accounts(config);
    if (!file) return exit_refused;
    std::vector<std::array<std::string, 6>> rows{{"NAME", "HOME", "USED", "QUOTA", "ADMIN", "DISABLED"}};
    for (const auto& [name, account] : file->all())
        rows.push_back({name, account.home, describe_usage(config, account), describe_quota(account.quota, config),
                        account.admin ? "yes" : "no", account.disabled ? "yes" : "no"});
    std::array<std::size_t, 6> widths{};
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    for (const auto& row : rows) {
        for (std::size_t i = 0; i + 1 < row.size(); ++i) std::cout << std::left << std::setw(static_cast<int>(widths[i] + 2)) << row[i];
        std::cout << row.back() << "\n";
    }
    if (rows.size() == 1)
        std::cout << "(no accounts in " << (config.accounts == AccountsBackend::file ? config.users_file : "the database") << ")\n";
    for (const auth::Account* account : file->blocked())
        std::cout << "logins refused for " << account->name << ": " << account->blocked
                  << "; delete or rename it (ferryd user rename)\n";
    return exit_ok;
}

// Several nodes keep the usage in the database, counted upload by upload; this sets it from the
// home again (after files were changed behind ferryd's back, or a node died mid-write).
int rescan_user(const Config& config, std::span<const std::string> words) {
    const std::string name = single_name(parse_options(words, {}), "rescan");
    auto file = load_accounts(config);
    if (!file) return exit_refused;
    const auth::Account* account = file->find(name);
    if (!account) return refuse("no such user: " + name);
    auto home = fs::Home::open(config.root, account->home, false);
    if (!home) return refuse("cannot open the home of " + name + ": " + home.error().message());
    auto used = home->usage();
    if (!used) return refuse("cannot measure the home of " + name + ": " + used.error().message());
    std::string error;
    if (rescan_stored_usage(config, name, *used, &error)) return refuse(error);
    std::cout << "usage of " << name << " is now " << *used << " bytes (" << format_size(*used) << ")\n";
    return exit_ok;
}

int dispatch(const Config& config, const std::string& command, std::span<const std::string> words) {
    if (command == "rescan") return rescan_user(config, words);
    if (command == "add") return add_user(config, words);
    if (command == "del") return delete_user(config, words);
    if (command == "rename") return rename_user(config, words);
    if (command == "passwd") return change_password(config, words);
    if (command == "quota") return set_quota(config, words);
    if (command == "disable") return set_disabled(config, words, true);
    if (command == "enable") return set_disabled(config, words, false);
    if (command == "list") return list_users(config, words);
    if (auto result = run_user_policy_command(config, command, words)) return *result;
    throw UsageError{"unknown command \"" + command + "\""};
}

}  // namespace

int run_user_command(const Config& config, const std::vector<std::string>& args) {
    return run_subcommand(tool, std::string(usage_text) + user_policy_usage + passwords_note, args,
                          [&](const std::string& command, std::span<const std::string> words) { return dispatch(config, command, words); });
}

}  // namespace ferry::app
