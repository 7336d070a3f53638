// SITE commands: the user's quota and password, account administration for admins, and open
// self-registration (the original tool's "1. create user") when the config allows it.
#include "auth/password.hpp"
#include "auth/registration.hpp"
#include "base/log.hpp"
#include "base/size.hpp"
#include "fs/home_folders.hpp"
#include "proto/session.hpp"

#include <cstring>
#include <ctime>
#include <sodium.h>

namespace ferry::proto {
namespace {

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = std::min(text.find(' ', start), text.size());
        if (end > start) words.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return words;
}

// A new account, written under the accounts file's lock; then its home is created.
std::pair<Status, std::string> add_account(ServerContext& context, const std::string& name, std::string password,
                                           std::uint64_t quota) {
    auth::Account account;
    account.name = name;
    account.home = name;
    account.quota = quota;
    account.password_hash = auth::hash_password(password);  // before the lock: argon2id is slow on purpose
    sodium_memzero(password.data(), password.size());
    std::string error;
    std::string refusal;
    const Status status = context.accounts.modify(
        [&](auth::AccountsFile& accounts) -> Status {
            if (const auth::Account* same = accounts.find_folded(name)) {
                refusal = same->name == name ? cat("User ", name, " exists.")
                                             : cat("User ", same->name, " exists (names are compared without case).");
                return Errc::exists;
            }
            if (const auth::Account* other = auth::account_with_overlapping_home(accounts, name)) {
                refusal = cat("The home ", name, " would hold the home of user ", other->name, " (", other->home,
                              "); homes may not nest.");
                return Errc::exists;
            }
            // A folder of that name holds someone's files (an earlier account's): never hand it over.
            auto exists = fs::home_exists(context.config.root, name);
            if (!exists || *exists) {
                refusal = cat("A folder named ", name, " already exists on the server (left from an earlier account?); "
                              "an administrator must move it away or adopt it with `ferryd user add ", name,
                              " --home ", name, " --adopt`.");
                if (exists) log::warn(cat("account ", name, " refused: the folder ", context.config.root, "/", name,
                                          " exists and is not adopted over FTP"));
                return Errc::exists;
            }
            return accounts.add(account) ? Status{} : Status(Errc::exists);
        },
        &error);
    if (status == Errc::exists) return {status, refusal.empty() ? cat("User ", name, " exists.") : refusal};
    if (status) return {status, error};
    auto home = fs::Home::open(context.config.root, name, true);
    if (!home) log::warn(cat("account ", name, " added, but its home could not be created: ", home.error().message()));
    return {Status{}, {}};
}

// Change one existing account under the accounts file's lock. `change` may refuse (a missing
// group) by returning the reply's words.
std::pair<Status, std::string> update_account(ServerContext& context, const std::string& name,
                                              const std::function<std::string(auth::Account&, const auth::AccountsFile&)>& change) {
    std::string error;
    std::string refusal;
    const Status status = context.accounts.modify(
        [&](auth::AccountsFile& accounts) -> Status {
            auth::Account* account = accounts.find_mutable(name);
            if (!account) return Errc::not_found;
            refusal = change(*account, accounts);
            if (!refusal.empty()) return Errc::not_found;
            // The user's running sessions check their next request against the new policy.
            context.policies.refresh_all(accounts);
            return {};
        },
        &error);
    return {status, status == Errc::not_found ? (refusal.empty() ? cat("No user ", name, ".") : refusal) : error};
}

std::pair<Status, std::string> update_account(ServerContext& context, const std::string& name,
                                              const std::function<void(auth::Account&)>& change) {
    return update_account(context, name, [&](auth::Account& account, const auth::AccountsFile&) {
        change(account);
        return std::string();
    });
}

}  // namespace

void Session::cmd_site(const std::string& arg) {
    const Command sub = split_command(arg);
    if (sub.verb == "HELP") return site_help();
    if (sub.verb == "REGISTER") return site_register(sub.arg);
    if (!login_.logged_in()) return reply(530, "Please login with USER and PASS.");
    if (sub.verb == "QUOTA") return site_quota();
    if (sub.verb == "PASSWD") return site_passwd(sub.arg);
    if (sub.verb == "ADDUSER") return site_adduser(sub.arg);
    if (sub.verb == "DELUSER") return site_deluser(sub.arg);
    if (sub.verb == "SETQUOTA") return site_setquota(sub.arg);
    if (sub.verb == "CHMOD") return site_chmod(sub.arg);
    if (sub.verb == "PERM") return site_perm(sub.arg);
    if (sub.verb == "GROUPS") return site_groups(sub.arg);
    if (sub.verb == "EXPIRE") return site_expire(sub.arg);
    reply(500, "Unknown SITE command; try SITE HELP.");
}

void Session::site_help() {
    reply_lines(214, {"SITE commands:", " QUOTA                            your usage and limit",
                      " PASSWD <new password>            change your password",
                      " CHMOD <mode> <path>              permission bits, e.g. 644 (the owner keeps rw)",
                      " REGISTER <name> <password> [quota-bytes]   create an account (if registration is open)",
                      " ADDUSER <name> <password> [quota]          (admin)",
                      " DELUSER <name>                             (admin; the home moves to .deleted)",
                      " SETQUOTA <name> <size>                     (admin; e.g. 500M, 0.1G, unlimited)",
                      " PERM <name> <path> <perms>|CLEAR           (admin; e.g. / list,download,hash)",
                      " GROUPS <name> <g1,g2>|NONE                 (admin; the account's groups, in order)",
                      " EXPIRE <name> <YYYY-MM-DD>|NEVER           (admin)", "End"});
}

void Session::site_quota() { reply(200, cat("Quota for ", login_.user, ": ", quota_summary())); }

bool Session::require_admin() {
    if (login_.admin) return true;
    reply(550, "Permission denied: only admin accounts may do that.");
    return false;
}

void Session::site_passwd(const std::string& args) {
    const std::string reason = auth::check_new_password(args, ctx_.config.min_password_length);
    if (!reason.empty()) return reply(501, reason);
    run_account_job(
        [&context = ctx_, name = login_.user, password = args]() mutable {
            const std::string hash = auth::hash_password(password);  // before the lock: slow on purpose
            sodium_memzero(password.data(), password.size());
            return update_account(context, name, [&](auth::Account& account) { account.password_hash = hash; });
        },
        "Password changed.");
}

void Session::site_adduser(const std::string& args) {
    if (!require_admin()) return;
    const auto words = split_words(args);
    if (words.size() < 2 || words.size() > 3) return reply(501, "Usage: SITE ADDUSER <name> <password> [quota]");
    if (auto reason = auth::check_new_user_name(words[0]); !reason.empty()) return reply(501, reason);
    if (auto reason = auth::check_new_password(words[1], ctx_.config.min_password_length); !reason.empty())
        return reply(501, reason);
    std::uint64_t quota = 0;
    if (words.size() == 3) {
        auto size = parse_size(words[2]);
        if (!size) return reply(501, "Quota must be a size like 500M, 0.1G or unlimited.");
        quota = *size;
    }
    run_account_job([&context = ctx_, name = words[0], password = words[1],
                     quota] { return add_account(context, name, password, quota); },
                    cat("User ", words[0], " added."),
                    [this, name = words[0]] { log::info(subject(), cat("added user ", name)); });
}

void Session::site_deluser(const std::string& args) {
    if (!require_admin()) return;
    const auto words = split_words(args);
    if (words.size() != 1) return reply(501, "Usage: SITE DELUSER <name>");
    if (words[0] == login_.user) return reply(550, "You cannot delete your own account.");
    auto retired = std::make_shared<std::string>();
    run_account_job(
        [&context = ctx_, name = words[0], retired]() -> std::pair<Status, std::string> {
            std::string error;
            const Status status = context.accounts.modify(
                [&](auth::AccountsFile& accounts) -> Status {
                    const auth::Account* account = accounts.find(name);
                    if (!account) return Errc::not_found;
                    // Out of reach before the account goes, so a new account of that name starts empty.
                    auto moved = fs::retire_home(context.config.root, account->home, name, std::time(nullptr));
                    if (!moved && moved.error() != Errc::not_found) {
                        error = cat("cannot move the home of ", name, " to .deleted: ", moved.error().message());
                        return moved.error();
                    }
                    if (moved) *retired = *moved;
                    accounts.remove(name);
                    return {};
                },
                &error);
            return {status, status == Errc::not_found ? cat("No user ", name, ".") : error};
        },
        cat("User ", words[0], " deleted; the home folder was moved out of reach (kept for deleted_retention days)."),
        [this, name = words[0], retired] {
            ctx_.quotas.forget(name);
            if (ctx_.account_deleted) ctx_.account_deleted(name);
            log::info(subject(), cat("deleted user ", name, retired->empty() ? "" : "; home moved to ", *retired));
        });
}

void Session::site_setquota(const std::string& args) {
    if (!require_admin()) return;
    const auto words = split_words(args);
    if (words.size() != 2) return reply(501, "Usage: SITE SETQUOTA <name> <size>");
    auto size = parse_size(words[1]);
    if (!size) return reply(501, "Quota must be a size like 500M, 0.1G or unlimited.");
    run_account_job(
        [&context = ctx_, name = words[0], quota = *size] {
            auto result = update_account(context, name, [&](auth::Account& account) { account.quota = quota; });
            // Running sessions of that user see the new limit at their next reservation.
            if (!result.first) context.quotas.refresh_limit(name, context.current_quota_limit(name, quota));
            return result;
        },
        cat("Quota of ", words[0], " set to ", ctx_.quota_limit(*size), " bytes."));
}

// SITE PERM <name> <path> <perms>|CLEAR: `ferryd user perm` over FTP. The path may hold spaces.
void Session::site_perm(const std::string& args) {
    if (!require_admin()) return;
    const auto first = args.find(' ');
    const auto last = args.rfind(' ');
    if (first == std::string::npos || last == first) return reply(501, "Usage: SITE PERM <name> <path> <perms>|CLEAR");
    const std::string name = args.substr(0, first);
    std::string why;
    const auto path = auth::rule_path(args.substr(first + 1, last - first - 1), &why);
    if (!path) return reply(501, cat("The path ", why, "."));
    const std::string words = args.substr(last + 1);
    std::optional<auth::Permissions> permissions;
    if (words != "CLEAR") {
        std::string bad;
        permissions = auth::Permissions::parse(words, &bad);
        if (!permissions) return reply(501, cat("Unknown permission \"", bad, "\" (list, download, upload, overwrite, delete, "
                                                "rename, mkdir, rmdir, chmod, hash, all, none)."));
    }
    run_account_job(
        [&context = ctx_, name, path = *path, permissions] {
            return update_account(context, name, [&](auth::Account& account) {
                if (permissions) account.settings.permissions[path] = *permissions;
                else account.settings.permissions.erase(path);
            });
        },
        permissions ? cat("Permissions of ", name, " on ", *path, ": ", permissions->text(), ".")
                    : cat("Rule of ", name, " for ", *path, " cleared."));
}

// SITE GROUPS <name> <g1,g2>|NONE: `ferryd user groups` over FTP.
void Session::site_groups(const std::string& args) {
    if (!require_admin()) return;
    const auto words = split_words(args);
    if (words.size() != 2) return reply(501, "Usage: SITE GROUPS <name> <g1,g2>|NONE");
    std::vector<std::string> groups;
    for (std::string_view list = words[1] == "NONE" ? std::string_view() : std::string_view(words[1]); !list.empty();) {
        const auto comma = list.find(',');
        const std::string group(list.substr(0, comma));
        if (!auth::valid_group_name(group)) return reply(501, cat("Not a group name: ", group, "."));
        groups.push_back(group);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    run_account_job(
        [&context = ctx_, name = words[0], groups] {
            return update_account(context, name, [&](auth::Account& account, const auth::AccountsFile& accounts) {
                for (const auto& group : groups)
                    if (!accounts.find_group(group)) return cat("No group ", group, ".");
                account.groups = groups;
                return std::string();
            });
        },
        cat("Groups of ", words[0], ": ", groups.empty() ? std::string("none") : words[1], "."));
}

// SITE EXPIRE <name> <YYYY-MM-DD>|NEVER: `ferryd user expire` over FTP.
void Session::site_expire(const std::string& args) {
    if (!require_admin()) return;
    const auto words = split_words(args);
    if (words.size() != 2) return reply(501, "Usage: SITE EXPIRE <name> <YYYY-MM-DD>|NEVER");
    std::optional<auth::Date> expires;
    if (words[1] != "NEVER") {
        expires = auth::Date::parse(words[1]);
        if (!expires) return reply(501, "The date must be YYYY-MM-DD.");
    }
    run_account_job(
        [&context = ctx_, name = words[0], expires] {
            return update_account(context, name, [&](auth::Account& account) { account.expires = expires; });
        },
        expires ? cat(words[0], " expires at 00:00 UTC of ", expires->text(), ".") : cat(words[0], " never expires."));
}

void Session::site_register(const std::string& args) {
    if (ctx_.config.registration != Registration::open) return reply(502, "Registration is closed on this server.");
    if (login_.logged_in()) return reply(503, "Already logged in.");
    const auto words = split_words(args);
    if (words.size() < 2 || words.size() > 3) return reply(501, "Usage: SITE REGISTER <name> <password> [quota-bytes]");
    if (auto reason = auth::check_new_user_name(words[0]); !reason.empty()) return reply(501, reason);
    if (auto reason = auth::check_new_password(words[1], ctx_.config.min_password_length); !reason.empty())
        return reply(501, reason);
    // A self-registered account may ask for less than default_quota, never more.
    std::uint64_t quota = ctx_.config.default_quota;
    if (words.size() == 3) {
        auto asked = parse_size(words[2]);
        if (!asked) return reply(501, "Quota must be a size like 500M or a number of bytes.");
        quota = std::min(quota, *asked);
    }
    const std::string ip = line_.peer.ip();
    if (!ctx_.registrations.allow(ip, std::chrono::steady_clock::now())) {
        log::warn(subject(), cat("registration refused: too many from this address"));
        return reply(450, "Too many registrations from your address; try again later.");
    }
    run_account_job([&context = ctx_, name = words[0], password = words[1],
                     quota] { return add_account(context, name, password, quota); },
                    cat("User ", words[0], " registered with a quota of ", quota, " bytes. Log in with USER and PASS."),
                    [this, name = words[0]] { log::info(subject(), cat("registered user ", name)); },
                    [this, ip] { ctx_.registrations.refund(ip); });
}

void Session::run_account_job(AccountJob job, std::string ok_text, std::function<void()> on_success,
                              std::function<void()> on_failure) {
    on_pool(std::move(job), [this, ok_text = std::move(ok_text), on_success = std::move(on_success),
                             on_failure = std::move(on_failure), command = begin_command()](
                                std::pair<Status, std::string> result) mutable {
        const auto& [status, why] = result;
        if (!status) {
            // Effects first: a client that acts on the 200 (say, another session of the same user)
            // must already see them.
            if (on_success) on_success();
            reply(200, ok_text);
        } else {
            if (on_failure) on_failure();
            if (status == Errc::exists || status == Errc::not_found) {
                reply(550, why);
            } else {
                log::error(subject(), cat("accounts file update failed: ", why));
                reply(451, "Could not update the accounts file; try again later.");
            }
        }
        command.complete();
    });
}

}  // namespace ferry::proto
