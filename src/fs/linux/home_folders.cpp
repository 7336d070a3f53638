#include "fs/home_folders.hpp"

#include "base/log.hpp"
#include "fs/linux/beneath.hpp"
#include "sys/posix/errno.hpp"
#include "sys/time.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace ferry::fs {
namespace {

constexpr const char* deleted_folder = ".deleted";  // auth::deleted_homes_folder, which fs may not include

Result<File> open_root(const std::string& root) {
    File fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys::last_error();
    return fd;
}

// The folder that holds `home`'s last component, resolved beneath root, and that component.
Result<File> open_parent_of(int root_fd, const std::string& home, std::string& last) {
    const auto slash = home.rfind('/');
    last = slash == std::string::npos ? home : home.substr(slash + 1);
    return detail::open_beneath(root_fd, slash == std::string::npos ? "." : home.substr(0, slash), O_PATH | O_DIRECTORY);
}

// rm -r of `name` in `dir_fd`: descriptors all the way down, so a symlink swapped in while it runs
// is unlinked, never followed. 0 or an errno.
int remove_tree_at(int dir_fd, const char* name, int depth = 0) {
    if (::unlinkat(dir_fd, name, 0) == 0) return 0;
    if (errno != EISDIR && errno != EPERM) return errno == ENOENT ? 0 : errno;
    if (depth > 256) return ELOOP;
    const int sub = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return errno;
    DIR* dir = ::fdopendir(sub);
    if (!dir) {
        const int err = errno;
        ::close(sub);
        return err;
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view entry_name = entry->d_name;
        if (entry_name != "." && entry_name != "..") names.emplace_back(entry_name);
    }
    int status = 0;
    for (const auto& child : names)
        if (int err = remove_tree_at(::dirfd(dir), child.c_str(), depth + 1); err && !status) status = err;
    ::closedir(dir);
    if (status) return status;
    return ::unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 ? 0 : errno;
}

}  // namespace

Result<bool> home_exists(const std::string& root, const std::string& home) {
    auto root_fd = open_root(root);
    if (!root_fd) return root_fd.error() == Errc::not_found ? Result<bool>(false) : Result<bool>(root_fd.error());
    std::string last;
    auto parent = open_parent_of(root_fd->get(), home, last);
    if (!parent) return parent.error() == Errc::not_found ? Result<bool>(false) : Result<bool>(parent.error());
    struct stat st {};
    if (::fstatat(parent->get(), last.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
    return errno == ENOENT ? Result<bool>(false) : Result<bool>(sys::last_error());
}

Result<std::string> retire_home(const std::string& root, const std::string& home, const std::string& name,
                                std::time_t now) {
    auto root_fd = open_root(root);
    if (!root_fd) return root_fd.error();
    std::string last;
    auto parent = open_parent_of(root_fd->get(), home, last);
    if (!parent) return parent.error();
    if (::mkdirat(root_fd->get(), deleted_folder, 0700) != 0 && errno != EEXIST) return sys::last_error();
    auto deleted = detail::open_beneath(root_fd->get(), deleted_folder, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    if (!deleted) return deleted.error();
    const std::string base = name + "-" + utc_stamp(now);
    for (int attempt = 1; attempt < 1000; ++attempt) {
        const std::string target = attempt == 1 ? base : base + "." + std::to_string(attempt);
        // NOREPLACE: a plain rename would silently replace an empty folder of the same name.
        if (::renameat2(parent->get(), last.c_str(), deleted->get(), target.c_str(), RENAME_NOREPLACE) == 0)
            return root + "/" + deleted_folder + "/" + target;
        if (errno != EEXIST) return sys::last_error();
    }
    return Error(Errc::exists, EEXIST);
}

Status purge_home(const std::string& root, const std::string& home) {
    auto root_fd = open_root(root);
    if (!root_fd) return root_fd.error();
    std::string last;
    auto parent = open_parent_of(root_fd->get(), home, last);
    if (!parent) return parent.error();
    // O_PATH descriptors cannot be read as folders: reopen the parent for remove_tree_at.
    File readable(::openat(parent->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!readable) return sys::last_error();
    return sys::from_errno(remove_tree_at(readable.get(), last.c_str()));
}

std::size_t prune_retired_homes(const std::string& root, std::chrono::seconds retention, std::time_t now) {
    const std::string folder = root + "/" + deleted_folder;
    File dir_fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir_fd) return 0;  // nothing was ever deleted
    DIR* dir = ::fdopendir(::dup(dir_fd.get()));
    if (!dir) return 0;
    std::vector<std::string> expired;
    while (const dirent* entry = ::readdir(dir)) {
        const std::time_t at = retired_at(entry->d_name);
        if (at >= 0 && now - at > retention.count()) expired.emplace_back(entry->d_name);
    }
    ::closedir(dir);
    std::size_t removed = 0;
    for (const auto& name : expired) {
        if (int err = remove_tree_at(dir_fd.get(), name.c_str())) {
            log::error(cat("deleted_retention: cannot remove ", folder, "/", name, ": ", std::strerror(err)));
            continue;
        }
        log::info(cat("deleted_retention: removed ", folder, "/", name));
        ++removed;
    }
    return removed;
}

}  // namespace ferry::fs
