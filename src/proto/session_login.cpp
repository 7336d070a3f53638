// Login (USER/PASS/REIN/QUIT) and the commands about the session itself.
#include "auth/password.hpp"
#include "base/decimal.hpp"
#include "base/log.hpp"
#include "base/size.hpp"
#include "fs/listing.hpp"
#include "proto/session.hpp"

#include "base/metrics.hpp"

#include <algorithm>
#include <ctime>
#include <sodium.h>

namespace ferry::proto {

// What a PASS found out, on the pools; finish_login acts on it.
struct LoginCheck {
    bool ok = false;
    bool password_ok = false;     // and the account may log in: its home comes next (I/O pool)
    LoginFailure failure = LoginFailure::refusal;  // guess: a wrong password or unknown user
    bool banned = false;          // the address was banned before the check ran: not checked
    bool unavailable = false;     // the accounts store (the database) cannot be reached: not checked
    bool recently_verified = false;  // the password matched the last verification: no argon2id
    bool expired = false;         // the password was right, the account expired: 530 Account expired
    std::string why;  // for the log, never for the client
    auth::Account account;
    auth::EffectivePolicy policy;
    Result<std::shared_ptr<const fs::Home>> home = Error(Errc::not_found);
    std::shared_ptr<fs::UserQuota> quota;
    std::unique_ptr<auth::UserSessions::Slot> slot;  // max_sessions_per_user
    unsigned busy_limit = 0;  // the password was right, but the account has this many sessions already
};

namespace {

// The last step of a good login: a place among the account's max_sessions_per_user (counted
// across nodes when they share a database, so this may block: worker pool).
void take_session_slot(ServerContext& context, auth::Account& account, LoginCheck& check) {
    const unsigned limit = context.config.max_sessions_per_user;
    auto slot = context.user_sessions.try_take(account.name, limit);
    if (!slot) {
        check.why = cat("cannot count the sessions of ", account.name, ": ", slot.error().message());
        check.unavailable = true;
        return;
    }
    if (limit && !*slot) {
        check.busy_limit = limit;
        return;
    }
    check.slot = std::move(*slot);
    check.ok = true;
    check.account = std::move(account);
}

// On the worker pool: look the user up and verify the password (argon2id).
LoginCheck check_login(ServerContext& context, const std::string& ip, const std::string& user, std::string& password) {
    LoginCheck check;
    // Banned while this check waited in the pool's queue (50 connections' guesses queue up at
    // once): no argon2id for it, so the honest logins behind it do not wait.
    if (std::string banned = context.defender.refusal(ip, auth::WallClock::now()); !banned.empty()) {
        sodium_memzero(password.data(), password.size());
        check.why = cat("not checked: the address is ", banned);
        check.banned = true;
        return check;
    }
    // Without the database a disable or a new password made on another node could be missed.
    if (!context.accounts.available()) {
        sodium_memzero(password.data(), password.size());
        check.why = cat("the accounts store (", context.accounts.describe(), ") cannot be reached");
        check.unavailable = true;
        return check;
    }
    auto found = context.accounts.find_with_policy(user);
    auto account = found ? std::optional<auth::Account>(std::move(found->account)) : std::nullopt;
    const auto now = auth::VerifiedPasswords::Clock::now();
    check.recently_verified =
        account && context.verified_passwords.matches(account->name, account->password_hash, password, now);
    // Unknown users cost one verification too, so timing doesn't tell who exists.
    const bool password_ok =
        check.recently_verified || auth::verify_password(account ? account->password_hash : "", password);
    if (password_ok && account && !check.recently_verified)
        context.verified_passwords.remember(account->name, account->password_hash, password, now);
    sodium_memzero(password.data(), password.size());
    if (!account || !password_ok) {
        check.why = account ? "wrong password" : "unknown user";
        check.failure = LoginFailure::guess;
    } else if (account->disabled) {
        check.why = "account disabled";
    } else if (!account->blocked.empty()) {
        check.why = cat("account blocked: ", account->blocked, " (delete or rename it: ferryd user rename)");
        log::error(cat("login of ", account->name, " refused: ", check.why));
    } else if (!auth::valid_home_path(account->home)) {
        check.why = cat("home \"", account->home, "\" is not a relative path beneath root");
    } else if (!found->policy.admits(ip)) {
        // The same 530 as a wrong password: the client learns nothing of the account.
        check.why = cat("the address ", ip, " is not among the networks the account may log in from");
    } else if (account->expires && std::time(nullptr) >= account->expires->start_seconds()) {
        check.why = cat("the account expired on ", account->expires->text());
        check.expired = true;
    } else {
        check.password_ok = true;
        check.account = std::move(*account);
        check.policy = std::move(found->policy);
    }
    return check;
}

// On the I/O pool, after a good password: open the home, measure its usage the first time this
// user logs in (the measurement is then shared by all sessions), take a session slot.
void open_login_home(ServerContext& context, LoginCheck& check) {
    auth::Account& account = check.account;
    const std::string& root = context.config.root;
    check.home = context.homes.open(root, account.home);
    if (!check.home) {
        check.why = cat("cannot open home ", root, "/", account.home, ": ", check.home.error().message());
        return;
    }
    check.quota = context.quotas.for_user(account.name, context.current_quota_limit(account.name, account.quota));
    if (const Status err = check.quota->ensure_measured(**check.home)) {
        check.why = cat("cannot measure the usage of ", (*check.home)->path(), ": ", err.message());
        return;
    }
    take_session_slot(context, account, check);
}

}  // namespace

void Session::cmd_user(const std::string& arg) {
    if (login_.logged_in()) return reply(530, "Can't change to another user.");
    if (tls_required() && !tls_.control) return reply(530, "This server requires TLS: send AUTH TLS first.");
    login_.user = arg;
    login_.step = Login::Step::need_pass;
    reply(331, "Please specify the password.");
}

void Session::cmd_pass(const std::string& arg) {
    if (login_.logged_in()) return reply(230, "Already logged in.");
    if (login_.step != Login::Step::need_pass) return reply(503, "Login with USER first.");
    const auto now = auth::WallClock::now();
    const std::string ip = line_.peer.ip();
    // Banned since this connection was made (by its own or a sibling's failures): no more guesses.
    if (std::string why = ctx_.defender.refusal(ip, now); !why.empty()) return close_banned(why);
    login_.step = Login::Step::checking;
    CommandToken command = begin_command();
    if (ctx_.defender.account_locked(login_.user, ip, now))
        return login_failed("account locked by the defender (too many failed logins; no password check)",
                            LoginFailure::guess, std::move(command));
    on_pool(
        [&context = ctx_, ip, user = login_.user, password = arg]() mutable { return check_login(context, ip, user, password); },
        [this, command = std::move(command)](LoginCheck check) mutable {
            if (!check.password_ok) return finish_login(std::move(check), std::move(command));
            run_off_reactor(
                ctx_.io_pool, net::Lane::prompt,
                [&context = ctx_, check = std::move(check)]() mutable {
                    open_login_home(context, check);
                    return std::move(check);
                },
                [this, command = std::move(command)](LoginCheck opened) mutable { finish_login(std::move(opened), std::move(command)); });
        });
}

// What the login check found, on this reactor again: the session logs in, or is refused.
void Session::finish_login(LoginCheck check, CommandToken command) {
    if (check.banned) return close_banned(check.why);
    if (check.unavailable) {
        log::error(subject(), cat("login of ", login_.user, " refused: ", check.why));
        login_.step = Login::Step::need_user;
        reply(421, "Account database unavailable; try again later.");
        return close_after_reply();
    }
    if (check.busy_limit) return refuse_busy_user(check.busy_limit, std::move(command));
    if (!check.ok)
        return login_failed(check.why, check.failure, std::move(command), check.expired ? "Account expired." : "Login incorrect.");
    login_.slot = std::move(check.slot);
    login_.step = Login::Step::logged_in;
    login_.awaiting.release();
    ctx_.defender.succeeded(line_.peer.ip(), login_.user);
    login_.admin = check.account.admin;  // all a session keeps of its account (not its hash)
    login_.home = std::move(*check.home);
    login_.quota = std::move(check.quota);
    login_.policy = ctx_.policies.for_user(login_.user, std::move(check.policy));
    login_.folders = std::make_shared<OpenFolders>(ctx_.folder_homes, ctx_.config.shared_root);
    login_.cwd = "/";
    metrics::registry().logins_ok.add();
    if (check.recently_verified) metrics::registry().logins_cached.add();
    log::info(subject(), cat("logged in, home ", login_.home->path(),
                  check.recently_verified ? " (password as verified recently: auth_cache_ttl)" : ""));
    reply(230, "Login successful.");
    hook_done(HookKind::login, "", 230);
    command.complete();
}

// The password was right, but the account has max_sessions_per_user sessions already: not a
// failure for the defender, and the client may log in again once one of them ends.
void Session::refuse_busy_user(unsigned limit, CommandToken command) {
    log::info(subject(), cat("login refused for ", login_.user, ": ", limit, " sessions of it are logged in already (max_sessions_per_user)"));
    login_.step = Login::Step::need_user;
    login_.user.clear();
    reply(530, cat("Too many sessions of this user (at most ", limit, "); try again later."));
    command.complete();
}

void Session::login_failed(std::string_view why, LoginFailure failure, CommandToken command, std::string_view answer) {
    ++login_.failures;
    metrics::registry().logins_failed.add();
    log::info(subject(), cat("login failed for \"", login_.user.substr(0, 64), "\": ", why));
    const bool banned_now = failure == LoginFailure::guess && count_failed_login();
    if (hook_wanted(HookKind::login_failed)) {
        HookEvent event = hook_event(HookKind::login_failed);
        event.user = login_.user.substr(0, 64);
        event.note = std::string(why);
        event.reply = 530;
        ctx_.hooks->emit(std::move(event));
    }
    login_.user.clear();
    // The delay is a timer, not a sleep: other sessions on this reactor carry on meanwhile.
    reactor_.add_timer(ctx_.config.login_fail_delay, lifetime_.guard([this, banned_now, answer, command = std::move(command)]() mutable {
        if (phase_ == SessionPhase::finished) return;
        login_.step = Login::Step::need_user;
        if (banned_now) return close_banned("banned by this failure");
        reply(530, answer);
        if (login_.failures >= ctx_.config.max_login_failures) return close_after_reply();
        command.complete();
    }));
}

void Session::close_banned(std::string_view why) {
    log::info(cat("defender: closed session ", id_, " from ", line_.peer.ip(), ": ", why));
    close_now(421, auth::banned_reply);
}

// The defender's count, and its stable log lines (etc/fail2ban/filter.d/ferryd.conf matches
// them). True when this failure got the address banned.
bool Session::count_failed_login() {
    const std::string ip = line_.peer.ip();
    const auth::FailureOutcome outcome = ctx_.defender.failed(ip, login_.user, auth::WallClock::now());
    if (!outcome.counted) return false;  // a trusted address
    metrics::registry().defender_failures.add();
    if (outcome.account_locked_now) metrics::registry().accounts_locked.add();
    // The name as the logs show it: what a client sends may not be UTF-8, which a database refuses.
    if (ctx_.publish_failure) ctx_.publish_failure(ip, fs::displayed_name(login_.user.substr(0, 64)));
    log::warn(cat("defender: failed login from ", ip, " for user \"", fs::displayed_name(login_.user.substr(0, 64)), "\" (",
                  outcome.address_failures, " in ", ctx_.defender.settings().ban_window.count(), " s)"));
    if (outcome.account_locked_now)
        log::warn(cat("defender: locked account \"", fs::displayed_name(login_.user.substr(0, 64)), "\" for ",
                      ctx_.defender.settings().ban_time.count(), " s (", ctx_.defender.settings().account_lock_threshold, " failed logins in ",
                      ctx_.defender.settings().ban_window.count(), " s; addresses it logged in from before still may)"));
    if (!outcome.new_ban) return false;
    const auth::Ban ban = *outcome.new_ban;
    log::warn(cat("defender: banned ", ban.group, " until ", auth::format_utc(ban.until), " (", ban.reason, ", ban ",
                  ban.count, ")"));
    ctx_.record_ban(ban);
    return true;
}

void ServerContext::record_ban(const auth::Ban& ban) {
    metrics::registry().bans.add();
    if (hooks && hooks->wants(HookKind::ban)) {
        HookEvent event;
        event.kind = HookKind::ban;
        event.client = ban.group;
        event.note = ban.reason;
        hooks->emit(std::move(event));
    }
    pool.submit([&defender = defender, path = config.bans_file, ban] {
        std::string error;
        const Status status = auth::modify_bans(path, [&](std::vector<auth::Ban>& bans) {
            std::erase_if(bans, [&](const auth::Ban& b) { return b.group == ban.group; });
            bans.push_back(ban);
            return true;
        }, &error);
        if (status) return log::error(cat("bans_file: cannot record the ban of ", ban.group, ": ", error));
        defender.mark_saved(ban.group);
    });
}

void Session::cmd_acct(const std::string&) { reply(202, "ACCT not needed."); }

void Session::cmd_rein(const std::string&) {
    if (transfers_) {
        transfers_->abort();
        transfers_->data().reset();
        transfers_->forget_markers();
    }
    login_.step = Login::Step::need_user;
    login_.user.clear();
    login_.slot.reset();
    abort_hash();
    login_.home.reset();
    login_.quota.reset();
    login_.policy.reset();
    login_.folders.reset();
    hash_.algo = fs::HashAlgo::sha256;
    login_.cwd = "/";
    choices_.type = DataType::binary;
    choices_.rename_from.clear();
    choices_.epsv_all = false;
    reply(220, ctx_.config.banner);
}

void Session::cmd_quit(const std::string&) {
    if (transfers_) transfers_->abort();
    abort_hash();
    reply(221, "Goodbye.");
    close_after_reply();
}

void Session::cmd_noop(const std::string&) { reply(200, "NOOP ok."); }

void Session::cmd_syst(const std::string&) { reply(215, "UNIX Type: L8"); }

void Session::cmd_help(const std::string&) {
    reply_lines(214, {"The following commands are recognized.",
                      "ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MFMT MKD",
                      "MLSD MLST MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD",
                      "RNFR RNTO SIZE STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD",
                      "Help OK."});
}

void Session::cmd_feat(const std::string&) {
    std::vector<std::string> lines{"Features:"};
    if (tls_.context) lines.insert(lines.end(), {" AUTH TLS", " PBSZ", " PROT"});
    lines.insert(lines.end(), {" AVBL", " EPRT", " EPSV", cat(" HASH ", fs::hash_feat_list(hash_.algo)), " MDTM", " MFMT",
                               cat(" MLST ", fs::feat_fact_list()), " PASV", " RANG STREAM", " REST STREAM",
                               " SIZE", " TVFS", " UTF8", "End"});
    reply_lines(211, lines);
}

void Session::cmd_opts(const std::string& arg) {
    const Command option = split_command(arg);
    if (option.verb == "UTF8") {
        // Names are bytes on disk and bytes on the wire: UTF-8 in, UTF-8 out (RFC 2640).
        return reply(200, "Always in UTF8 mode.");
    }
    if (option.verb == "MLST") {
        choices_.mlst_facts = fs::FactSet::parse(option.arg);
        return reply(200, cat("MLST OPTS ", choices_.mlst_facts.names()));
    }
    if (option.verb == "HASH") return opts_hash(option.arg);
    reply(501, "Option not understood.");
}

void Session::cmd_stat(const std::string& arg) {
    // STAT <path> lists over the control connection, asynchronously; during a transfer or a hash
    // (when STAT is answered at once) only the status below is given, so nothing else starts.
    const bool working = transferring() || hash_.running();
    if (!arg.empty() && !working) {
        if (!login_.logged_in()) return reply(530, "Please login with USER and PASS.");
        return start_listing(ListKind::list, arg, ListTo::control_connection);
    }
    std::vector<std::string> lines{"FTP server status:", cat("     Connected to ", line_.peer.ip())};
    if (login_.logged_in()) {
        lines.push_back(cat("     Logged in as ", login_.user));
        lines.push_back(cat("     Quota: ", quota_summary()));
    }
    lines.push_back(cat("     TYPE: ", choices_.type == DataType::ascii ? "ASCII" : "BINARY"));
    if (const auto bytes = transfers_ ? transfers_->bytes_so_far() : std::nullopt) {
        lines.push_back(cat("     Transferring ", transfers_->record().path, ": ", *bytes, " bytes so far"));
    } else {
        lines.push_back("     No data connection");
    }
    lines.push_back("End of status");
    reply_lines(211, lines);
}

void Session::cmd_type(const std::string& arg) {
    const Command type = split_command(arg);
    if (type.verb == "I" || (type.verb == "L" && type.arg == "8")) {
        choices_.type = DataType::binary;
        return reply(200, "Switching to Binary mode.");
    }
    if (type.verb == "A" && (type.arg.empty() || type.arg == "N")) {
        choices_.type = DataType::ascii;
        return reply(200, "Switching to ASCII mode.");
    }
    reply(504, "Unsupported TYPE.");
}

void Session::cmd_mode(const std::string& arg) {
    if (arg == "S" || arg == "s") return reply(200, "Mode set to S.");
    reply(504, "Only stream mode (S) is supported.");
}

void Session::cmd_stru(const std::string& arg) {
    if (arg == "F" || arg == "f") return reply(200, "Structure set to F.");
    reply(504, "Only file structure (F) is supported.");
}

void Session::cmd_allo(const std::string& arg) {
    // "ALLO <decimal>" with an optional " R <record size>" (RFC 959).
    const auto count = parse_decimal(std::string_view(arg).substr(0, arg.find(' ')));
    if (!count) return reply(501, "ALLO needs a byte count.");
    const std::uint64_t wanted = *count;
    const std::uint64_t free = place(login_.cwd).quota->free();
    if (wanted > free) return reply(552, cat("Not enough quota: ", wanted, " bytes asked, ", free, " bytes free."));
    reply(200, cat("ALLO ok: ", wanted, " bytes fit."));
}

std::string Session::quota_summary() const {
    if (!login_.quota) return "not logged in";
    const std::uint64_t used = login_.quota->used();
    if (login_.quota->limit() == unlimited_bytes) return cat("used ", used, " bytes (", format_size(used), "), no limit.");
    return cat("used ", used, " of ", login_.quota->limit(), " bytes (", format_size(used), " of ", format_size(login_.quota->limit()),
               "), ", login_.quota->free(), " bytes free.");
}

// AVBL [path] (draft-peterson-streamlined-ftp-command-extensions): what may still be stored here.
// The quota's free space, and never more than the file system actually has.
void Session::cmd_avbl(const std::string& arg) {
    const std::string target = arg.empty() ? std::string("/") : resolve(arg);
    if (target.empty()) return reply_fs_error(Errc::not_found, "AVBL failed");
    struct Space {
        Error err;
        bool folder = true;
        std::optional<std::uint64_t> disk{};  // what the file system still has, if it says
    };
    request(
        Need::nothing(), [place = place(target), check = !arg.empty()]() -> Space {
            auto home = place.open();
            if (!home) return {home.error()};
            if (check) {
                auto info = (*home)->stat(place.path);
                if (!info) return {info.error()};
                if (!info->is_directory()) return {{}, false};
            }
            const auto space = (*home)->free_space();
            return {{}, true, space ? std::optional<std::uint64_t>(*space) : std::nullopt};
        },
        [this, quota = place(target).quota](Space space) {
            if (space.err) return reply_fs_error(space.err, "AVBL failed");
            if (!space.folder) return reply(550, "AVBL needs a directory.");
            reply(213, cat(std::min(quota->free(), space.disk.value_or(UINT64_MAX))));
        });
}

}  // namespace ferry::proto
