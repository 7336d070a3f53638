#include "app/privileges.hpp"

#include "base/log.hpp"
#include "sys/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <sys/stat.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace ferry::app {

std::optional<RunAs> resolve_run_as(const std::string& spec, std::string* error) {
    if (spec.empty()) return std::nullopt;
    const auto colon = spec.find(':');
    RunAs target;
    target.user = spec.substr(0, colon);
    const passwd* user = ::getpwnam(target.user.c_str());
    if (!user) {
        *error = cat("run_as: no user \"", target.user, "\" on this system");
        return std::nullopt;
    }
    target.uid = user->pw_uid;
    target.gid = user->pw_gid;
    if (colon != std::string::npos) {
        const std::string group_name = spec.substr(colon + 1);
        const group* group = ::getgrnam(group_name.c_str());
        if (!group) {
            *error = cat("run_as: no group \"", group_name, "\" on this system");
            return std::nullopt;
        }
        target.gid = group->gr_gid;
    }
    return target;
}

bool drop_privileges(const RunAs& target, std::string* error) {
    if (::getuid() == target.uid && ::geteuid() == target.uid && ::getgid() == target.gid) return true;
    if (::setgroups(0, nullptr) != 0 || ::setgid(target.gid) != 0 || ::setuid(target.uid) != 0) {
        *error = cat("run_as: cannot become ", target.user, " (uid ", target.uid, ", gid ", target.gid,
                     "): ", std::strerror(errno), " (only root can change to another user)");
        return false;
    }
    if (target.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
        *error = "run_as: root could be regained after the drop; refusing to run";
        return false;
    }
    return true;
}

std::string check_writable_folders(const Config& config) {
    auto folders = data_folders(config);
    for (auto& log : log_folders(config)) folders.push_back(std::move(log));
    for (const auto& [key, folder] : folders) {
        if (::access(folder.c_str(), W_OK | X_OK) != 0)
            return cat(key, ": ferryd (uid ", ::getuid(), ") cannot write the folder ", folder, ": ", std::strerror(errno),
                       " (give it to the run_as user, e.g. chown)");
    }
    return "";
}

namespace {
// Without run_as, a server that runs as its own user (the package's `ferry`, by the unit's
// User=) owns the folders it writes: what root makes there goes to the folder's owner.
void hand_to_folder_owner(const std::string& path) {
    struct stat folder {};
    if (::stat(parent_folder(path).c_str(), &folder) != 0 || folder.st_uid == 0) return;
    if (::chown(path.c_str(), folder.st_uid, folder.st_gid) != 0 && errno != ENOENT)
        log::error(cat("cannot give ", path, " to the owner of its folder (uid ", folder.st_uid, "): ", std::strerror(errno)));
}
}  // namespace

void hand_over(const Config& config, const std::string& path) {
    if (::geteuid() != 0) return;
    if (config.run_as.empty()) return hand_to_folder_owner(path);
    std::string error;
    const auto target = resolve_run_as(config.run_as, &error);
    if (!target) return log::error(error);
    if (::chown(path.c_str(), target->uid, target->gid) != 0 && errno != ENOENT)
        log::error(cat("run_as: cannot give ", path, " to ", target->user, ": ", std::strerror(errno)));
}

void hand_over_locked_file(const Config& config, const std::string& path) {
    hand_over(config, path);
    hand_over(config, path + ".lock");
}

}  // namespace ferry::app
