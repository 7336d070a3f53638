// Login (USER/PASS/REIN/QUIT) and the commands about the session itself.
#include "auth/password.hpp"
#include "base/log.hpp"
#include "base/size.hpp"
#include "fs/listing.hpp"
#include "proto/session.hpp"

#include <algorithm>
#include <cstring>
#include <sys/statvfs.h>
#include <sodium.h>

namespace ferry::proto {
namespace {

struct LoginCheck {
    bool ok = false;
    bool wrong_password = false;  // a guess that failed (also for unknown users): the defender counts it
    bool banned = false;          // the address was banned before the check ran: not checked
    std::string why;  // for the log, never for the client
    auth::Account account;
    Result<std::shared_ptr<const fs::Home>> home = Result<std::shared_ptr<const fs::Home>>::failure(ENOENT);
    std::shared_ptr<fs::UserQuota> quota;
};

// On the worker pool: look the user up, verify the password (argon2id), open the home, and measure
// its usage the first time this user logs in (the measurement is then shared by all sessions).
LoginCheck check_login(ServerContext& context, const std::string& ip, const std::string& user, std::string& password) {
    LoginCheck check;
    const std::string& root = context.config.root;
    // Banned while this check waited in the pool's queue (50 connections' guesses queue up at
    // once): no argon2id for it, so the honest logins behind it do not wait.
    if (std::string banned = context.defender.refusal(ip, auth::WallClock::now()); !banned.empty()) {
        sodium_memzero(password.data(), password.size());
        check.why = cat("not checked: the address is ", banned);
        check.banned = true;
        return check;
    }
    auto account = context.accounts.find(user);
    // Unknown users cost one verification too, so timing doesn't tell who exists.
    const bool password_ok = auth::verify_password(account ? account->password_hash : "", password);
    sodium_memzero(password.data(), password.size());
    if (!account || !password_ok) {
        check.why = account ? "wrong password" : "unknown user";
        check.wrong_password = true;
    } else if (account->disabled) {
        check.why = "account disabled";
    } else if (!account->blocked.empty()) {
        check.why = cat("account blocked: ", account->blocked, " (delete or rename it: ferryd user rename)");
        log::error(cat("login of ", account->name, " refused: ", check.why));
    } else if (!auth::valid_home_path(account->home)) {
        check.why = cat("home \"", account->home, "\" is not a relative path beneath root");
    } else {
        check.home = context.homes.open(root + "/" + account->home);
        if (!check.home) {
            check.why = cat("cannot open home ", root, "/", account->home, ": ", std::strerror(check.home.error()));
        } else {
            check.quota = context.quotas.for_user(account->name, context.current_quota_limit(account->name, account->quota));
            if (Status err = check.quota->ensure_measured(**check.home)) {
                check.why = cat("cannot measure the usage of ", (*check.home)->path(), ": ", std::strerror(err));
            } else {
                check.ok = true;
                check.account = std::move(*account);
            }
        }
    }
    return check;
}

}  // namespace

void Session::cmd_user(const std::string& arg) {
    if (login_ == LoginState::logged_in) return reply(530, "Can't change to another user.");
    if (tls_required() && !control_tls_) return reply(530, "This server requires TLS: send AUTH TLS first.");
    user_ = arg;
    login_ = LoginState::need_pass;
    reply(331, "Please specify the password.");
}

void Session::cmd_pass(const std::string& arg) {
    if (login_ == LoginState::logged_in) return reply(230, "Already logged in.");
    if (login_ != LoginState::need_pass) return reply(503, "Login with USER first.");
    const auto now = auth::WallClock::now();
    const std::string ip = peer_.ip();
    // Banned since this connection was made (by its own or a sibling's failures): no more guesses.
    if (std::string why = ctx_.defender.refusal(ip, now); !why.empty()) return close_banned(why);
    login_ = LoginState::checking;
    busy_ = true;
    if (ctx_.defender.account_locked(user_, ip, now))
        return login_failed("account locked by the defender (too many failed logins; no password check)", true);
    on_pool(
        [&context = ctx_, ip, user = user_, password = arg]() mutable { return check_login(context, ip, user, password); },
        [this](LoginCheck check) {
            if (check.banned) return close_banned(check.why);
            if (!check.ok) return login_failed(check.why, check.wrong_password);
            login_ = LoginState::logged_in;
            stop_awaiting_login();
            ctx_.defender.succeeded(peer_.ip(), user_);
            account_ = std::move(check.account);
            home_ = std::move(*check.home);
            quota_ = std::move(check.quota);
            cwd_ = "/";
            log::info(cat(describe(), " logged in, home ", home_->path()));
            reply(230, "Login successful.");
            command_finished();
        });
}

void Session::login_failed(std::string_view why, bool a_guess) {
    ++login_failures_;
    log::info(cat(describe(), " login failed for \"", user_.substr(0, 64), "\": ", why));
    const bool banned_now = a_guess && count_failed_login();
    user_.clear();
    // The delay is a timer, not a sleep: other sessions on this reactor carry on meanwhile.
    reactor_.add_timer(ctx_.config.login_fail_delay, [this, banned_now, alive = std::weak_ptr<int>(alive_)] {
        if (alive.expired() || finished_) return;
        login_ = LoginState::need_user;
        if (banned_now) return close_banned("banned by this failure");
        reply(530, "Login incorrect.");
        if (login_failures_ >= ctx_.config.max_login_failures) return close_after_reply();
        command_finished();
    });
}

void Session::close_banned(std::string_view why) {
    log::info(cat("defender: closed session ", id_, " from ", peer_.ip(), ": ", why));
    close_now(421, auth::banned_reply);
}

// The defender's count, and its stable log lines (etc/fail2ban/filter.d/ferryd.conf matches
// them). True when this failure got the address banned.
bool Session::count_failed_login() {
    const std::string ip = peer_.ip();
    const auth::FailureOutcome outcome = ctx_.defender.failed(ip, user_, auth::WallClock::now());
    if (!outcome.counted) return false;  // a trusted address
    log::warn(cat("defender: failed login from ", ip, " for user \"", fs::displayed_name(user_.substr(0, 64)), "\" (",
                  outcome.address_failures, " in ", ctx_.config.ban_window.count(), " s)"));
    if (outcome.account_locked_now)
        log::warn(cat("defender: locked account \"", fs::displayed_name(user_.substr(0, 64)), "\" for ",
                      ctx_.config.ban_time.count(), " s (", ctx_.config.account_lock_threshold, " failed logins in ",
                      ctx_.config.ban_window.count(), " s; addresses it logged in from before still may)"));
    if (!outcome.new_ban) return false;
    const auth::Ban ban = *outcome.new_ban;
    log::warn(cat("defender: banned ", ban.group, " until ", auth::format_utc(ban.until), " (", ban.reason, ", ban ",
                  ban.count, ")"));
    ctx_.pool.submit([&defender = ctx_.defender, path = ctx_.config.bans_file, ban] {
        std::string error;
        const Status status = auth::modify_bans(path, [&](std::vector<auth::Ban>& bans) {
            std::erase_if(bans, [&](const auth::Ban& b) { return b.group == ban.group; });
            bans.push_back(ban);
            return true;
        }, &error);
        if (status) return log::error(cat("bans_file: cannot record the ban of ", ban.group, ": ", error));
        defender.mark_saved(ban.group);
    });
    return true;
}

void Session::cmd_acct(const std::string&) { reply(202, "ACCT not needed."); }

void Session::cmd_rein(const std::string&) {
    abort_transfer();
    data_.reset();
    login_ = LoginState::need_user;
    user_.clear();
    abort_hash();
    home_.reset();
    quota_.reset();
    range_.reset();
    hash_algo_ = fs::HashAlgo::sha256;
    cwd_ = "/";
    ascii_ = false;
    rest_offset_ = 0;
    rename_from_.clear();
    epsv_all_ = false;
    reply(220, ctx_.config.banner);
}

void Session::cmd_quit(const std::string&) {
    abort_transfer();
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
    if (ctx_.tls) lines.insert(lines.end(), {" AUTH TLS", " PBSZ", " PROT"});
    lines.insert(lines.end(), {" AVBL", " EPRT", " EPSV", cat(" HASH ", fs::hash_feat_list(hash_algo_)), " MDTM", " MFMT",
                               " MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;UNIX.owner*;UNIX.group*;", " PASV", " RANG STREAM", " REST STREAM",
                               " SIZE", " TVFS", " UTF8", "End"});
    reply_lines(211, lines);
}

void Session::cmd_opts(const std::string& arg) {
    const Command option = split_command(arg);
    if (option.verb == "UTF8") {
        // Names are bytes on disk and bytes on the wire: UTF-8 in, UTF-8 out (RFC 2640).
        return reply(200, "Always in UTF8 mode.");
    }
    if (option.verb == "MLST") return reply(200, "MLST OPTS type;size;modify;perm;unique;UNIX.mode;UNIX.owner;UNIX.group;");
    if (option.verb == "HASH") return opts_hash(option.arg);
    reply(501, "Option not understood.");
}

void Session::cmd_stat(const std::string& arg) {
    // STAT <path> lists over the control connection, asynchronously; during a transfer or a hash
    // (when STAT is answered at once) only the status below is given, so nothing else starts.
    const bool working = phase_ != DataPhase::none || hash_cancel_;
    if (!arg.empty() && !working) {
        if (login_ != LoginState::logged_in) return reply(530, "Please login with USER and PASS.");
        return start_listing(ListKind::list, arg, /*over_control=*/true);
    }
    std::vector<std::string> lines{"FTP server status:", cat("     Connected to ", peer_.ip())};
    if (login_ == LoginState::logged_in) {
        lines.push_back(cat("     Logged in as ", user_));
        lines.push_back(cat("     Quota: ", quota_summary()));
    }
    lines.push_back(cat("     TYPE: ", ascii_ ? "ASCII" : "BINARY"));
    if (phase_ != DataPhase::none && transfer_) {
        lines.push_back(cat("     Transferring ", xfer_.path, ": ", transfer_->bytes(), " bytes so far"));
    } else {
        lines.push_back("     No data connection");
    }
    lines.push_back("End of status");
    reply_lines(211, lines);
}

void Session::cmd_type(const std::string& arg) {
    const Command type = split_command(arg);
    if (type.verb == "I" || (type.verb == "L" && type.arg == "8")) {
        ascii_ = false;
        return reply(200, "Switching to Binary mode.");
    }
    if (type.verb == "A" && (type.arg.empty() || type.arg == "N")) {
        ascii_ = true;
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
    const std::string count = arg.substr(0, arg.find(' '));
    if (count.empty() || count.size() > 19 || count.find_first_not_of("0123456789") != std::string::npos)
        return reply(501, "ALLO needs a byte count.");
    const std::uint64_t wanted = std::stoull(count);
    const std::uint64_t free = quota_->free();
    if (wanted > free) return reply(552, cat("Not enough quota: ", wanted, " bytes asked, ", free, " bytes free."));
    reply(200, cat("ALLO ok: ", wanted, " bytes fit."));
}

std::string Session::quota_summary() const {
    if (!quota_) return "not logged in";
    const std::uint64_t used = quota_->used();
    if (quota_->limit() == unlimited_bytes) return cat("used ", used, " bytes (", format_size(used), "), no limit.");
    return cat("used ", used, " of ", quota_->limit(), " bytes (", format_size(used), " of ", format_size(quota_->limit()),
               "), ", quota_->free(), " bytes free.");
}

// AVBL [path] (draft-peterson-streamlined-ftp-command-extensions): what may still be stored here.
// The quota's free space, and never more than the file system actually has.
void Session::cmd_avbl(const std::string& arg) {
    if (!arg.empty()) {
        const std::string target = resolve(arg);
        auto st = target.empty() ? Result<struct stat>::failure(ENOENT) : home_->stat(target);
        if (!st) return reply_fs_error(st.error(), "AVBL failed");
        if (!S_ISDIR(st->st_mode)) return reply(550, "AVBL needs a directory.");
    }
    std::uint64_t free = quota_->free();
    struct statvfs fs_stats {};
    if (::fstatvfs(home_->dir_fd(), &fs_stats) == 0)
        free = std::min<std::uint64_t>(free, std::uint64_t(fs_stats.f_bavail) * fs_stats.f_frsize);
    reply(213, cat(free));
}

}  // namespace ferry::proto
