// Home on Linux: folders read in batches (FolderReader) and the recursive usage scan. Both run on
// the worker pool.
#include "fs/home.hpp"
#include "sys/reactor_thread.hpp"
#include "fs/linux/beneath.hpp"
#include "fs/vpath.hpp"
#include "sys/posix/errno.hpp"
#include "sys/posix/stat.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <utility>
#include <unistd.h>

namespace ferry::fs {

namespace {

// Deeper folders are not counted by usage(); also bounds the fds held open during the scan.
constexpr int max_usage_depth = 64;

struct DirCloser {
    void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirStream = std::unique_ptr<DIR, DirCloser>;

// A DIR stream over `fd`; the stream owns (and closes) the fd from then on.
Result<DirStream> open_stream(File fd) {
    DIR* dir = ::fdopendir(fd.get());
    if (dir == nullptr) return sys::last_error();
    fd.release();
    return DirStream(dir);
}

// readdir with errno cleared first, so that nullptr with errno 0 means "end of folder".
const dirent* next_entry(DIR* dir) {
    errno = 0;
    return ::readdir(dir);
}

bool is_dot_or_dotdot(const char* name) {
    return std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0;
}

// What a listing shows for a symlink: its target when that resolves beneath the home.
void follow_link_inside(int home_fd, const std::string& relpath, FileInfo& info) {
    auto target = detail::open_beneath(home_fd, relpath, O_PATH);
    if (!target) return;
    if (auto target_info = sys::file_info(*target)) info = *target_info;
}

}  // namespace

struct FolderReader::Impl {
    File home;    // a duplicate of the home's fd: symlinks are followed only beneath it
    File folder;  // for fstatat; the stream has its own
    DirStream stream;
    std::string dir_rel;
};

FolderReader::FolderReader() = default;
FolderReader::FolderReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FolderReader::FolderReader(FolderReader&&) noexcept = default;
FolderReader& FolderReader::operator=(FolderReader&&) noexcept = default;
FolderReader::~FolderReader() = default;

Result<std::vector<DirEntry>> FolderReader::next(std::size_t max) {
    std::vector<DirEntry> entries;
    DIR* dir = impl_ ? impl_->stream.get() : nullptr;
    while (dir && entries.size() < max) {
        const dirent* ent = next_entry(dir);
        if (ent == nullptr) {
            if (errno != 0) return sys::last_error();
            break;
        }
        if (is_dot_or_dotdot(ent->d_name)) continue;
        DirEntry entry;
        entry.name = ent->d_name;
        // Gone between readdir and fstatat (deleted meanwhile): simply not listed.
        struct stat st {};
        if (::fstatat(impl_->folder.get(), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        entry.info = sys::info_from_stat(st);
        if (entry.info.is_symlink())
            follow_link_inside(impl_->home.get(), detail::join_relative(impl_->dir_rel, entry.name), entry.info);
        entries.push_back(std::move(entry));
    }
    std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return entries;
}

Result<FolderReader> Home::read_folder(std::string_view vpath) const {
    sys::off_reactor("Home::read_folder");
    auto fd = open_directory(vpath);
    if (!fd) return fd.error();
    // fdopendir takes the fd; keep our own for fstatat (the stream's fd is its private business).
    const int stream_fd = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0);
    if (stream_fd < 0) return sys::last_error();
    auto stream = open_stream(File(stream_fd));
    if (!stream) return stream.error();
    File home(::fcntl(dir_.get(), F_DUPFD_CLOEXEC, 0));
    if (!home) return sys::last_error();
    return FolderReader(std::make_unique<FolderReader::Impl>(
        FolderReader::Impl{std::move(home), std::move(*fd), std::move(*stream), vpath_relative(vpath)}));
}

namespace {

// Sum of regular file sizes in the folder `dir_fd` and below. Never follows symlinks: folders are
// opened with O_NOFOLLOW, entries are stat'ed with AT_SYMLINK_NOFOLLOW. Unreadable sub-folders
// (and those deeper than max_usage_depth) are skipped rather than failing the whole scan.
Result<std::uint64_t> sum_folder(File dir_fd, int depth) {
    auto stream = open_stream(std::move(dir_fd));
    if (!stream) return stream.error();
    const int folder_fd = ::dirfd(stream->get());

    std::uint64_t total = 0;
    const dirent* ent = nullptr;
    while ((ent = next_entry(stream->get())) != nullptr) {
        if (is_dot_or_dotdot(ent->d_name)) continue;
        struct stat st {};
        if (::fstatat(folder_fd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISREG(st.st_mode)) {
                total += static_cast<std::uint64_t>(st.st_size);
            } else if (S_ISDIR(st.st_mode) && depth < max_usage_depth) {
                const int sub = ::openat(folder_fd, ent->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0) {
                    const auto below = sum_folder(File(sub), depth + 1);
                    if (below.ok()) total += below.value();
                }
            }
        }
    }
    if (errno != 0) return sys::last_error();
    return total;
}

}  // namespace

Result<std::uint64_t> Home::usage() const {
    sys::off_reactor("Home::usage");
    auto root = open_directory("/");
    if (!root) return root.error();
    return sum_folder(std::move(*root), 0);
}

}  // namespace ferry::fs
