// Home on Linux: opening, stat and name operations, all resolved beneath the home's directory fd.
// Listing and usage scans live in home_scan.cpp.
#include "fs/home.hpp"
#include "sys/reactor_thread.hpp"

#include "fs/linux/beneath.hpp"
#include "fs/vpath.hpp"
#include "sys/posix/errno.hpp"
#include "sys/posix/stat.hpp"

#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ferry::fs {

namespace detail {

Result<File> open_beneath(int dir_fd, const std::string& relpath, int flags, mode_t mode, Links links) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (links == Links::none ? RESOLVE_NO_SYMLINKS : 0);
    // The kernel answers EAGAIN when a concurrent rename makes ".." resolution unsafe; retry a bit.
    for (int attempt = 0; attempt < 8; ++attempt) {
        const long fd = ::syscall(SYS_openat2, dir_fd, relpath.c_str(), &how, sizeof how);
        if (fd >= 0) return File(static_cast<int>(fd));
        if (errno != EINTR && errno != EAGAIN) return sys::last_error();
    }
    return Error(Errc::would_block, EAGAIN);
}

std::string join_relative(std::string_view dir_rel, std::string_view name) {
    if (dir_rel.empty() || dir_rel == ".") return std::string(name);
    std::string out(dir_rel);
    if (out.back() != '/') out += '/';
    out += name;
    return out;
}

}  // namespace detail

namespace {

constexpr mode_t file_mode = 0640;
constexpr mode_t folder_mode = 0750;

bool is_root(std::string_view vpath) { return vpath_relative(vpath) == "."; }

// Creates `directory` and any missing parents (like mkdir -p).
Status make_directories(const std::string& directory) {
    for (std::size_t pos = 1; pos <= directory.size(); ++pos) {
        if (pos != directory.size() && directory[pos] != '/') continue;
        const std::string prefix = directory.substr(0, pos);
        if (::mkdir(prefix.c_str(), folder_mode) != 0 && errno != EEXIST) return sys::last_error();
    }
    return {};
}

// The server thread must never block on a FIFO or device planted in a home: open non-blocking,
// insist on a regular file, then switch back to blocking I/O.
Result<File> open_regular(int dir_fd, const std::string& relpath, int flags, FileInfo* checked) {
    auto fd = detail::open_beneath(dir_fd, relpath, flags | O_NONBLOCK | O_NOCTTY, file_mode);
    if (!fd) return fd;
    const auto info = sys::file_info(*fd);
    if (!info) return info.error();
    if (info->is_directory()) return Error(Errc::is_directory, EISDIR);
    if (!info->is_regular()) return Error(Errc::permission, EACCES);
    if (checked) *checked = *info;
    const int status_flags = ::fcntl(fd->get(), F_GETFL);
    if (status_flags < 0 || ::fcntl(fd->get(), F_SETFL, status_flags & ~O_NONBLOCK) != 0)
        return sys::last_error();
    return fd;
}

int write_flags(WriteMode mode) {
    switch (mode) {
        case WriteMode::truncate: return O_WRONLY | O_CREAT | O_TRUNC;
        case WriteMode::at_offset: return O_WRONLY | O_CREAT;
        case WriteMode::append: return O_WRONLY | O_CREAT | O_APPEND;
        case WriteMode::create_new: return O_WRONLY | O_CREAT | O_EXCL;
    }
    return O_WRONLY;
}

// Renames only if the target does not exist: 0, or -1 with errno (EEXIST; EINVAL/ENOSYS where
// the file system cannot do RENAME_NOREPLACE).
int rename_noreplace(int from_dir, const std::string& from, int to_dir, const std::string& to) {
    return static_cast<int>(::syscall(SYS_renameat2, from_dir, from.c_str(), to_dir, to.c_str(),
                                      RENAME_NOREPLACE));
}

// Renames from_dir/from to to_dir/to: a file may be replaced, a folder never.
Status rename_in(int from_dir, const std::string& from, int to_dir, const std::string& to) {
    if (rename_noreplace(from_dir, from, to_dir, to) == 0) return {};
    if (errno != EEXIST && errno != EINVAL && errno != ENOSYS) return sys::last_error();
    // The target exists (or NOREPLACE is unsupported).
    struct stat target {};
    if (::fstatat(to_dir, to.c_str(), &target, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(target.st_mode))
        return Error(Errc::exists, EEXIST);
    return ::renameat(from_dir, from.c_str(), to_dir, to.c_str()) == 0 ? Status{} : sys::last_error();
}

}  // namespace

Result<Home> Home::open(const std::string& directory, bool create) {
    sys::off_reactor("Home::open");
    if (directory.empty()) return Error(Errc::invalid);
    if (create) {
        if (const Status err = make_directories(directory)) return Result<Home>::failure(err);
    }
    const int fd = ::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sys::last_error();
    Home home;
    home.dir_ = File(fd);
    home.path_ = directory;
    return home;
}

Result<Home> Home::open(const std::string& root, std::string_view relative, bool create) {
    sys::off_reactor("Home::open");
    if (root.empty() || relative.empty()) return Error(Errc::invalid);
    const int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) return sys::last_error();
    const File root_dir(root_fd);
    const std::string rel(relative);
    for (std::size_t pos = 0; create && pos != std::string::npos;) {  // each missing folder, beneath
        pos = rel.find('/', pos + 1);
        const std::string prefix = rel.substr(0, pos);
        const auto slash = prefix.rfind('/');
        auto parent = slash == std::string::npos ? detail::open_beneath(root_fd, ".", O_PATH | O_DIRECTORY)
                                                 : detail::open_beneath(root_fd, prefix.substr(0, slash), O_PATH | O_DIRECTORY,
                                                                        0, detail::Links::none);
        if (!parent) return parent.error();
        const std::string name = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
        if (::mkdirat(parent->get(), name.c_str(), folder_mode) != 0 && errno != EEXIST) return sys::last_error();
    }
    auto dir = detail::open_beneath(root_fd, rel, O_PATH | O_DIRECTORY, 0, detail::Links::none);
    if (!dir) return dir.error();
    Home home;
    home.dir_ = std::move(*dir);
    home.path_ = root + "/" + rel;
    return home;
}

Result<Home::Parent> Home::open_parent(std::string_view vpath, std::string& name) const {
    name = std::string(vpath_name(vpath));
    // vpath never hands these over, but an *at() call on them would act on the wrong folder.
    if (name.empty() || name == "." || name == "..") return Error(Errc::invalid);
    return folder_handle(vpath_parent(vpath));
}

Result<Home::Parent> Home::folder_handle(std::string_view folder) const {
    if (is_root(folder)) return Parent{nullptr, dir_.get()};
    if (folders_) {
        if (auto kept = folders_->find(folder)) return Parent{kept, kept->get()};
    }
    auto opened = detail::open_beneath(dir_.get(), vpath_relative(folder), O_PATH | O_DIRECTORY);
    if (!opened) return opened.error();
    auto held = std::make_shared<const File>(std::move(*opened));
    if (folders_) folders_->keep(folder, held);
    return Parent{held, held->get()};
}

// From the file's folder when its handle may be kept: one lookup where the path has several
// folders. A symlink that leads out of that folder (EXDEV there) may still stay inside the home:
// then the whole path is resolved from the home, as without the cache.
Result<File> Home::open_file(std::string_view vpath, int flags, FileInfo* info) const {
    if (folders_ && !is_root(vpath_parent(vpath))) {
        std::string name;
        auto parent = open_parent(vpath, name);
        if (!parent) return parent.error();
        auto fd = open_regular(parent->get(), name, flags, info);
        if (fd || fd.error() != Errc::outside) return fd;
    }
    return open_regular(dir_.get(), vpath_relative(vpath), flags, info);
}

// The home itself, or a name that is not a symlink directly in the home or in a folder whose
// handle is kept: one call on that handle. Anything else (or on any error) resolves beneath the
// home, following links while they stay inside: open, fstat, close.
Result<FileInfo> Home::stat(std::string_view vpath) const {
    sys::off_reactor("Home::stat");
    if (is_root(vpath)) return sys::file_info(dir_);
    if (is_root(vpath_parent(vpath)) || folders_) {
        std::string name;
        auto parent = open_parent(vpath, name);
        struct stat st {};
        if (parent && ::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
            return sys::info_from_stat(st);
    }
    auto fd = detail::open_beneath(dir_.get(), vpath_relative(vpath), O_PATH);
    if (!fd) return fd.error();
    return sys::file_info(*fd);
}

Result<FileInfo> Home::lstat(std::string_view vpath) const {
    sys::off_reactor("Home::lstat");
    if (is_root(vpath)) return stat(vpath);
    std::string name;
    auto parent = open_parent(vpath, name);
    if (!parent) return parent.error();
    struct stat st {};
    if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return sys::last_error();
    return sys::info_from_stat(st);
}

Result<File> Home::open_read(std::string_view vpath, FileInfo* info) const {
    sys::off_reactor("Home::open_read");
    return open_file(vpath, O_RDONLY, info);
}

Result<File> Home::open_write(std::string_view vpath, WriteMode mode, FileInfo* info) const {
    sys::off_reactor("Home::open_write");
    return open_file(vpath, write_flags(mode), info);
}

Result<File> Home::open_directory(std::string_view vpath) const {
    sys::off_reactor("Home::open_directory");
    if (folders_ && !is_root(vpath)) {  // from the folder's kept handle: no lookups on the way
        auto folder = folder_handle(vpath);
        if (!folder) return folder.error();
        return detail::open_beneath(folder->get(), ".", O_RDONLY | O_DIRECTORY);
    }
    return detail::open_beneath(dir_.get(), vpath_relative(vpath), O_RDONLY | O_DIRECTORY);
}

Status Home::make_directory(std::string_view vpath) const {
    sys::off_reactor("Home::make_directory");
    if (is_root(vpath)) return Error(Errc::exists, EEXIST);
    std::string name;
    auto parent = open_parent(vpath, name);
    if (!parent) return parent.error();
    return ::mkdirat(parent->get(), name.c_str(), folder_mode) == 0 ? Status{} : sys::last_error();
}

Status Home::remove_directory(std::string_view vpath) const {
    sys::off_reactor("Home::remove_directory");
    if (is_root(vpath)) return Error(Errc::busy, EBUSY);
    std::string name;
    auto parent = open_parent(vpath, name);
    if (!parent) return parent.error();
    if (::unlinkat(parent->get(), name.c_str(), AT_REMOVEDIR) != 0) return sys::last_error();
    forget_folders_beneath(vpath);  // after: a handle kept meanwhile is of the folder now gone
    return {};
}

Status Home::remove_file(std::string_view vpath) const {
    sys::off_reactor("Home::remove_file");
    if (is_root(vpath)) return Error(Errc::is_directory, EISDIR);
    std::string name;
    auto parent = open_parent(vpath, name);
    if (!parent) return parent.error();
    if (::unlinkat(parent->get(), name.c_str(), 0) != 0) return sys::last_error();
    forget_folders_beneath(vpath);  // a symlink to a folder may have been kept under its name
    return {};
}

Status Home::rename(std::string_view from, std::string_view to) const {
    sys::off_reactor("Home::rename");
    if (is_root(from) || is_root(to)) return Error(Errc::busy, EBUSY);
    std::string from_name, to_name;
    auto from_dir = open_parent(from, from_name);
    if (!from_dir) return from_dir.error();
    auto to_dir = open_parent(to, to_name);
    if (!to_dir) return to_dir.error();
    const Status renamed = rename_in(from_dir->get(), from_name, to_dir->get(), to_name);
    if (!renamed) {  // after: a folder moved, and handles kept of it (or beneath) would follow it
        forget_folders_beneath(from);
        forget_folders_beneath(to);
    }
    return renamed;
}

Status Home::set_mtime(std::string_view vpath, std::int64_t unix_seconds) const {
    sys::off_reactor("Home::set_mtime");
    // Resolve beneath the home (following links that stay inside), then touch what was found:
    // utimensat on a name relative to its parent would follow a symlink out of the home.
    auto fd = detail::open_beneath(dir_.get(), vpath_relative(vpath), O_PATH);
    if (!fd) return fd.error();
    const struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(unix_seconds), 0}};
    return ::utimensat(fd->get(), "", times, AT_EMPTY_PATH) == 0 ? Status{} : sys::last_error();
}

Status Home::set_mode(std::string_view vpath, std::uint32_t mode) const {
    sys::off_reactor("Home::set_mode");
    if (mode & ~std::uint32_t{0777}) return Error(Errc::invalid);
    // Resolve beneath the home first, as set_mtime does, then change what was found.
    auto fd = detail::open_beneath(dir_.get(), vpath_relative(vpath), O_PATH);
    if (!fd) return fd.error();
    const auto target = sys::file_info(*fd);
    const auto home = sys::file_info(dir_);
    if (!target || !home) return target ? home.error() : target.error();
    if (target->id == home->id) return Error(Errc::permission, EPERM);
    if (!target->is_regular() && !target->is_directory()) return Error(Errc::permission, EPERM);
    // fchmod() refuses O_PATH descriptors; fchmodat2 (Linux 6.6) takes one with AT_EMPTY_PATH, and
    // on older kernels the descriptor's /proc link names exactly the inode we resolved.
    constexpr long fchmodat2_syscall = 452;  // the same number on every architecture
    if (::syscall(fchmodat2_syscall, fd->get(), "", mode, AT_EMPTY_PATH) == 0) return {};
    if (errno != ENOSYS) return sys::last_error();
    const std::string proc_link = "/proc/self/fd/" + std::to_string(fd->get());
    return ::chmod(proc_link.c_str(), mode) == 0 ? Status{} : sys::last_error();
}

}  // namespace ferry::fs
