// Home: folders read in batches (FolderReader) and the recursive usage scan. Both run on the worker pool.
#include "fs/beneath.hpp"
#include "fs/home.hpp"
#include "fs/vpath.hpp"

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
Result<DirStream> open_stream(Fd fd) {
    DIR* dir = ::fdopendir(fd.get());
    if (dir == nullptr) return Result<DirStream>::failure(errno);
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
void follow_link_inside(int home_fd, const std::string& relpath, struct stat& st) {
    auto target = detail::open_beneath(home_fd, relpath, O_PATH);
    struct stat target_st {};
    if (target && ::fstat(target->get(), &target_st) == 0) st = target_st;
}

}  // namespace

FolderReader::FolderReader(Fd home, Fd folder, void* stream, std::string dir_rel)
    : home_(std::move(home)), folder_(std::move(folder)), stream_(stream), dir_rel_(std::move(dir_rel)) {}

FolderReader::FolderReader(FolderReader&& other) noexcept
    : home_(std::move(other.home_)), folder_(std::move(other.folder_)), stream_(std::exchange(other.stream_, nullptr)),
      dir_rel_(std::move(other.dir_rel_)) {}

FolderReader& FolderReader::operator=(FolderReader&& other) noexcept {
    if (this != &other) {
        if (stream_) ::closedir(static_cast<DIR*>(stream_));
        home_ = std::move(other.home_);
        folder_ = std::move(other.folder_);
        stream_ = std::exchange(other.stream_, nullptr);
        dir_rel_ = std::move(other.dir_rel_);
    }
    return *this;
}

FolderReader::~FolderReader() {
    if (stream_) ::closedir(static_cast<DIR*>(stream_));
}

Result<std::vector<DirEntry>> FolderReader::next(std::size_t max) {
    using Batch = Result<std::vector<DirEntry>>;
    std::vector<DirEntry> entries;
    DIR* dir = static_cast<DIR*>(stream_);
    while (dir && entries.size() < max) {
        const dirent* ent = next_entry(dir);
        if (ent == nullptr) {
            if (errno != 0) return Batch::failure(errno);
            break;
        }
        if (is_dot_or_dotdot(ent->d_name)) continue;
        DirEntry entry;
        entry.name = ent->d_name;
        // Gone between readdir and fstatat (deleted meanwhile): simply not listed.
        if (::fstatat(folder_.get(), ent->d_name, &entry.st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISLNK(entry.st.st_mode))
            follow_link_inside(home_.get(), detail::join_relative(dir_rel_, entry.name), entry.st);
        entries.push_back(std::move(entry));
    }
    std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return entries;
}

Result<FolderReader> Home::read_folder(std::string_view vpath) const {
    using ReaderResult = Result<FolderReader>;
    auto fd = open_directory(vpath);
    if (!fd) return ReaderResult::failure(fd.error());
    // fdopendir takes the fd; keep our own for fstatat (the stream's fd is its private business).
    const int stream_fd = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0);
    if (stream_fd < 0) return ReaderResult::failure(errno);
    auto stream = open_stream(Fd(stream_fd));
    if (!stream) return ReaderResult::failure(stream.error());
    Fd home(::fcntl(dir_.get(), F_DUPFD_CLOEXEC, 0));
    if (!home) return ReaderResult::failure(errno);
    return FolderReader(std::move(home), std::move(*fd), stream->release(), vpath_relative(vpath));
}

namespace {

// Sum of regular file sizes in the folder `dir_fd` and below. Never follows symlinks: folders are
// opened with O_NOFOLLOW, entries are stat'ed with AT_SYMLINK_NOFOLLOW. Unreadable sub-folders
// (and those deeper than max_usage_depth) are skipped rather than failing the whole scan.
Result<std::uint64_t> sum_folder(Fd dir_fd, int depth) {
    auto stream = open_stream(std::move(dir_fd));
    if (!stream) return Result<std::uint64_t>::failure(stream.error());
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
                    const auto below = sum_folder(Fd(sub), depth + 1);
                    if (below.ok()) total += below.value();
                }
            }
        }
    }
    if (errno != 0) return Result<std::uint64_t>::failure(errno);
    return total;
}

}  // namespace

Result<std::uint64_t> Home::usage() const {
    auto root = open_directory("/");
    if (!root) return Result<std::uint64_t>::failure(root.error());
    return sum_folder(std::move(*root), 0);
}

}  // namespace ferry::fs
