// Names and folders: PWD, CWD, MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT, MLST.
// Every path goes through resolve() (the virtual path) on the reactor; what touches the home is a
// request (request(), on_io()): fs::Home's calls run on the I/O pool, the reply comes back here.
#include "base/log.hpp"
#include "fs/listing.hpp"
#include "fs/vpath.hpp"
#include "proto/session.hpp"
#include "proto/upload_digest.hpp"

#include <climits>
#include <cstdio>
#include <cstring>

namespace ferry::proto {

std::string Session::resolve(const std::string& arg) const { return fs::vpath_resolve(login_.cwd, arg); }

Place Session::place(const std::string& vpath) const {
    const auto policy = this->policy();
    const auth::EffectivePolicy::Mount* mount = policy->mount_of(vpath);
    if (!mount) return Place{login_.home, login_.quota, vpath, {}, {}, {}};
    std::string inner = vpath == mount->at ? std::string("/") : vpath.substr(mount->at.size());
    auto quota = ctx_.folder_quotas.for_user(mount->folder, [limit = mount->quota] { return limit; });
    return Place{nullptr, std::move(quota), std::move(inner), mount->folder, mount->at, login_.folders};
}

bool Session::above_mount(const std::string& vpath) const {
    const auto policy = this->policy();
    return std::any_of(policy->mounts().begin(), policy->mounts().end(), [&](const auth::EffectivePolicy::Mount& mount) {
        return mount.at != vpath && auth::path_covers(vpath, mount.at);
    });
}

void Session::reply_fs_error(Error err, std::string_view what) {
    switch (err.code()) {
        case Errc::not_found:
        case Errc::not_directory: return reply(550, cat(what, ": No such file or directory."));
        case Errc::exists: return reply(550, cat(what, ": File exists."));
        case Errc::not_empty: return reply(550, cat(what, ": Directory not empty."));
        case Errc::is_directory: return reply(550, cat(what, ": Is a directory."));
        case Errc::quota: return reply(552, cat(what, ": Quota exceeded."));
        case Errc::no_space: return reply(452, cat(what, ": Insufficient storage space."));
        case Errc::name_too_long: return reply(553, cat(what, ": File name too long."));
        case Errc::invalid: return reply(553, cat(what, ": File name not allowed."));
        default: return reply(550, cat(what, ": Permission denied."));  // permission, outside, too_many_links, ...
    }
}

void Session::refuse_permission(auth::Permissions what, const std::string& path, std::string_view detail) {
    std::string words = what == auth::Permissions::all() ? std::string("access") : what.text();
    for (std::size_t comma; (comma = words.find(',')) != std::string::npos;) words.replace(comma, 1, " or ");
    log::info(subject(), cat("\"", line_.current_verb, "\" refused by the access policy: ", words, " on ",
                  fs::displayed_name(path), detail.empty() ? "" : " (", detail, detail.empty() ? "" : ")"));
    reply(550, cat("Permission denied: ", words, " on ", path, detail.empty() ? "" : cat(" (", detail, ")")));
}

std::shared_ptr<const auth::EffectivePolicy> Session::policy() const {
    static const auto unrestricted = std::make_shared<const auth::EffectivePolicy>();
    return login_.policy ? login_.policy->current() : unrestricted;
}

// The one check every file request passes (on_io): the deepest rule covering each path decides.
bool Session::permitted(const Need& need) {
    if (need.kind == Need::Kind::nothing) return true;
    const auto policy = this->policy();
    if (policy->rules().empty()) return true;  // the common case: no rules, nothing to look up
    if (need.kind == Need::Kind::any) {
        if (policy->allows_any(need.path)) return true;
        refuse_permission(auth::Permissions::all(), need.path);
        return false;
    }
    for (const std::string* path : {&need.path, &need.second_path}) {
        if (path->empty()) continue;
        if (!policy->allows_one_of(need.permissions, *path)) {
            refuse_permission(need.permissions, *path);
            return false;
        }
        // A folder renamed would carry the files beneath it out from under their rules.
        if (need.permissions.has(auth::Permission::rename))
            if (const auto* beneath = policy->rule_beneath(*path)) {
                refuse_permission(need.permissions, *path, cat("the rule for ", beneath->path, " lies beneath it"));
                return false;
            }
    }
    return true;
}

bool Session::too_deep(const std::string& vpath, std::string_view what) {
    if (fs::vpath_depth(vpath) <= ctx_.config.max_depth) return false;
    reply(550, cat(what, ": more than ", ctx_.config.max_depth, " levels below your home (max_depth)."));
    return true;
}

void Session::cmd_pwd(const std::string&) { reply(257, cat(fs::vpath_quote(login_.cwd), " is the current directory")); }

void Session::cmd_cwd(const std::string& arg) {
    const std::string target = resolve(arg);
    if (target.empty()) return reply(550, "Failed to change directory.");
    request(Need::anything_on(target), [place = place(target)] { return place.stat(); },
            [this, target](Result<fs::FileInfo> st) {
                // A folder a mount point lies in, which the home does not have: there to reach the mount.
                if (!st && st.error() == Errc::not_found && above_mount(target)) {
                    login_.cwd = target;
                    return reply(250, "Directory successfully changed.");
                }
                if (!st) return reply_fs_error(st.error(), "Failed to change directory");
                if (!st->is_directory()) return reply(550, "Failed to change directory: Not a directory.");
                login_.cwd = target;
                reply(250, "Directory successfully changed.");
            });
}

void Session::cmd_cdup(const std::string&) { cmd_cwd(".."); }

void Session::cmd_mkd(const std::string& arg) {
    const std::string target = resolve(arg);
    if (target.empty() || target == "/") return reply(550, "Create directory operation failed.");
    if (too_deep(target, "Create directory operation failed")) return;
    Place where = place(target);
    if (where.is_mount_point()) return reply(550, "Create directory operation failed: File exists.");
    request(Need::to(auth::Permission::mkdir, target),
            [place = std::move(where)] { return place.run([](const fs::Home& home, const std::string& path) { return home.make_directory(path); }); },
            [this, target](Status err) {
                if (err) return reply_fs_error(err, "Create directory operation failed");
                reply(257, cat(fs::vpath_quote(target), " created"));
                hook_done(HookKind::mkdir, target, 257);
            });
}

void Session::cmd_rmd(const std::string& arg) {
    const std::string target = resolve(arg);
    if (target.empty() || target == "/") return reply(550, "Remove directory operation failed.");
    Place where = place(target);
    if (where.is_mount_point()) return reply(550, "Remove directory operation failed: a shared folder is mounted there.");
    request(Need::to(auth::Permission::rmdir, target),
            [place = std::move(where)] { return place.run([](const fs::Home& home, const std::string& path) { return home.remove_directory(path); }); },
            [this, target](Status err) {
                if (err) return reply_fs_error(err, "Remove directory operation failed");
                reply(250, "Remove directory operation successful.");
                hook_done(HookKind::rmdir, target, 250);
            });
}

// Removing the last name of a file frees its page cache there and then, which takes as long as the
// file is large (95 ms for a cached 2 GiB file here): DELE and RNTO run on the pool, so that the
// other sessions of this reactor do not wait. The quota is adjusted there too, where the change
// happens, so that it is exact even if the session ends meanwhile; and an upload digest of the file
// still being computed stops, as nobody can ask for it any more.
namespace {

void forget_file(const fs::FileInfo& gone, fs::UserQuota& quota, PendingDigests& pending) {
    if (!gone.is_regular()) return;
    quota.adjust(-static_cast<std::int64_t>(gone.size));
    if (gone.links <= 1) pending.abandon(gone.id);
}

}  // namespace

void Session::cmd_dele(const std::string& arg) {
    const std::string target = resolve(arg);
    if (target.empty() || target == "/") return reply(550, "Delete operation failed.");
    Place where = place(target);
    if (where.is_mount_point()) return reply(550, "Delete operation failed: a shared folder is mounted there.");
    struct Deleted {
        Error err;
        bool directory = false;
    };
    request(
        Need::to(auth::Permission::remove, target),
        [place = std::move(where), pending = &ctx_.pending_digests]() -> Deleted {
            auto home = place.open();
            if (!home) return {home.error()};
            auto entry = (*home)->lstat(place.path);
            if (!entry) return {entry.error()};
            if (entry->is_directory()) return {{}, true};
            if (const Status err = (*home)->remove_file(place.path)) return {err};
            forget_file(*entry, *place.quota, *pending);
            return {};
        },
        [this, target](Deleted deleted) {
            if (deleted.directory) return reply(550, "Delete operation failed: Is a directory (use RMD).");
            if (deleted.err) return reply_fs_error(deleted.err, "Delete operation failed");
            reply(250, "Delete operation successful.");
            hook_done(HookKind::delete_file, target, 250);
        });
}

void Session::cmd_rnfr(const std::string& arg) {
    choices_.rename_from.clear();
    const std::string source = resolve(arg);
    if (source.empty() || source == "/") return reply(550, "RNFR command failed.");
    Place where = place(source);
    if (where.is_mount_point()) return reply(550, "RNFR command failed: a shared folder is mounted there.");
    request(Need::to(auth::Permission::rename, source), [place = std::move(where)] { return place.stat(); },
            [this, source](Result<fs::FileInfo> st) {
                if (!st) return reply_fs_error(st.error(), "RNFR command failed");
                choices_.rename_from = source;
                reply(350, "Ready for RNTO.");
            });
}

void Session::cmd_rnto(const std::string& arg) {
    if (choices_.rename_from.empty()) return reply(503, "RNFR required first.");
    const std::string source = std::exchange(choices_.rename_from, std::string());
    const std::string target = resolve(arg);
    if (target.empty() || target == "/") return reply(550, "Rename failed.");
    if (too_deep(target, "Rename failed")) return;
    Place from = place(source), to = place(target);
    if (to.is_mount_point()) return reply(550, "Rename failed: a shared folder is mounted there.");
    // Each tree is resolved beneath its own folder: a rename between two would be a copy, never done.
    if (!from.same_tree(to)) {
        log::info(subject(), cat("rename refused: ", fs::displayed_name(source), " and ", fs::displayed_name(target),
                      " lie in different trees (home and shared folder, or two folders)"));
        return reply(550, "Rename failed: source and target are in different folders (a shared folder and your home); "
                          "copy the file instead.");
    }
    // A folder moved deeper takes its subfolders along: they must stay within max_depth too.
    const std::size_t target_depth = fs::vpath_depth(target);
    const unsigned room = target_depth > fs::vpath_depth(source) ? ctx_.config.max_depth - static_cast<unsigned>(target_depth)
                                                                  : UINT_MAX;
    struct Renamed {
        Status err;
        bool too_deep = false;
    };
    // A file renamed over is freed there, like DELE's.
    request(
        Need::rename(source, target),
        [from = std::move(from), to = std::move(to), pending = &ctx_.pending_digests, room]() -> Renamed {
            auto opened = from.open();
            if (!opened) return {opened.error()};
            const fs::Home& home = **opened;
            const std::string& source = from.path;
            const std::string& target = to.path;
            if (room != UINT_MAX && home.is_directory(source)) {
                const auto height = home.folder_height(source, room);
                if (!height) return {height.error()};
                if (*height > room) return {{}, true};
            }
            auto replaced = home.lstat(target);
            if (const Status err = home.rename(source, target)) return {err};
            if (replaced && source != target) forget_file(*replaced, *from.quota, *pending);
            return {};
        },
        [this, source, target](Renamed renamed) {
            if (renamed.too_deep)
                return reply(550, cat("Rename failed: the folder's subfolders would be more than ", ctx_.config.max_depth,
                                      " levels below your home (max_depth)."));
            if (renamed.err) return reply_fs_error(renamed.err, "Rename failed");
            reply(250, "Rename successful.");
            hook_done(HookKind::rename, source, 250, target);
        });
}

void Session::cmd_size(const std::string& arg) {
    const std::string target = resolve(arg);
    if (target.empty()) return reply(550, "Could not get file size.");
    request(Need::to(auth::Permission::list, target), [place = place(target)] { return place.stat(); },
            [this](Result<fs::FileInfo> st) {
                if (!st || !st->is_regular()) return reply(550, "Could not get file size.");
                reply(213, cat(st->size));
            });
}

void Session::cmd_mdtm(const std::string& arg) {
    const std::string target = resolve(arg);
    if (target.empty()) return reply(550, "Could not get file modification time.");
    request(Need::to(auth::Permission::list, target), [place = place(target)] { return place.stat(); },
            [this](Result<fs::FileInfo> st) {
                if (!st || !st->is_regular()) return reply(550, "Could not get file modification time.");
                reply(213, fs::utc_timestamp(static_cast<std::time_t>(st->mtime)));
            });
}

// MFMT YYYYMMDDHHMMSS path (draft-somers-ftp-mfxx).
void Session::cmd_mfmt(const std::string& arg) {
    const auto space = arg.find(' ');
    if (space == std::string::npos) return reply(501, "MFMT needs a time and a path.");
    const std::int64_t when = fs::parse_utc_timestamp(std::string_view(arg).substr(0, space));
    if (when < 0) return reply(501, "MFMT time must be YYYYMMDDHHMMSS.");
    const std::string target = resolve(arg.substr(space + 1));
    if (target.empty()) return reply(550, "Could not set file modification time.");
    request(Need::to(auth::Permission::overwrite, target),
            [place = place(target), when]() -> Status {
                return place.run([when](const fs::Home& home, const std::string& path) { return home.set_mtime(path, when); });
            },
            [this, when, shown = arg.substr(space + 1)](Status err) {
                if (err == Errc::not_found || err == Errc::not_directory)
                    return reply(550, "Could not set file modification time.");
                if (err) return reply_fs_error(err, "Could not set modification time");
                reply(213, cat("Modify=", fs::utc_timestamp(static_cast<std::time_t>(when)), "; ", shown));
            });
}

// SITE CHMOD <octal mode> <path>: what FileZilla and lftp send. Only permission bits; the owner
// keeps read and write (and search on folders), because the server reads the home as its owner:
// a folder it cannot enter would make the next login's usage scan, and so the login, fail.
void Session::site_chmod(const std::string& args) {
    const auto space = args.find(' ');
    if (space == std::string::npos || space == 0 || space > 4) return reply(501, "Usage: SITE CHMOD <mode> <path>");
    std::uint32_t mode = 0;
    for (char digit : std::string_view(args).substr(0, space)) {
        if (digit < '0' || digit > '7') return reply(501, "SITE CHMOD mode must be octal permission bits, 000-777.");
        mode = mode * 8 + static_cast<std::uint32_t>(digit - '0');
    }
    if (mode > 0777) return reply(501, "SITE CHMOD sets permission bits only (000-777).");
    const std::string target = resolve(args.substr(space + 1));
    if (target.empty() || target == "/") return reply(550, "SITE CHMOD failed: Your home folder keeps its mode.");
    Place where = place(target);
    if (where.is_mount_point()) return reply(550, "SITE CHMOD failed: a shared folder keeps its mode.");
    struct Changed {
        Status err;
        bool folder = false;
        bool owner_kept = true;  // false: refused, the owner would lose rw (rwx on folders)
    };
    request(
        Need::to(auth::Permission::chmod, target),
        [place = std::move(where), mode]() -> Changed {
            auto home = place.open();
            if (!home) return {home.error()};
            auto st = (*home)->stat(place.path);
            if (!st) return {st.error()};
            const std::uint32_t owner_needs = st->is_directory() ? 0700 : 0600;
            if ((mode & owner_needs) != owner_needs) return {{}, st->is_directory(), false};
            return {(*home)->set_mode(place.path, mode), st->is_directory()};
        },
        [this, target, mode](Changed changed) {
            if (!changed.owner_kept)
                return reply(550, cat("SITE CHMOD failed: the owner must keep ", changed.folder ? "rwx on folders." : "rw on files."));
            if (changed.err) return reply_fs_error(changed.err, "SITE CHMOD failed");
            char octal[8];
            std::snprintf(octal, sizeof octal, "%03o", static_cast<unsigned>(mode));
            log::info(subject(), cat("chmod ", octal, ' ', target));
            reply(200, "SITE CHMOD command ok.");
        });
}

void Session::cmd_mlst(const std::string& arg) {
    const std::string target = resolve(arg.empty() ? std::string(".") : arg);
    if (target.empty()) return reply_fs_error(Errc::not_found, "MLST failed");
    struct Facts {
        fs::FileInfo info;
        std::vector<fs::KeptDigest> digests;
    };
    request(Need::to(auth::Permission::list, target),
            [place = place(target), wanted = choices_.mlst_facts.digests()]() -> Result<Facts> {
                return place.run([&](const fs::Home& home, const std::string& inner) -> Result<Facts> {
                    auto st = home.stat(inner);
                    if (!st) return st.error();
                    if (wanted.empty() || !st->is_regular()) return Facts{*st, {}};
                    auto file = home.open_read(inner);
                    return Facts{*st, file ? fs::kept_digests(*file, wanted) : std::vector<fs::KeptDigest>{}};
                });
            },
            [this, target](Result<Facts> facts) {
                if (!facts) return reply_fs_error(facts.error(), "MLST failed");
                const std::string shown = fs::displayed_name(target);
                const std::string line = fs::mlsx_facts(facts->info, login_.user, {}, choices_.mlst_facts, facts->digests);
                reply_lines(250, {cat("Listing ", shown), cat(' ', line, ' ', shown), "End"});
            });
}

}  // namespace ferry::proto
