// Home on Linux: folders read in batches (FolderReader) and the recursive usage scan. Both run on
// the worker pool.
#include "fs/home.hpp"
#include "sys/reactor_thread.hpp"
#include "fs/linux/beneath.hpp"
#include "fs/vpath.hpp"
#include "sys/posix/errno.hpp"
#include "sys/posix/stat.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
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
            impl_.reset();  // the end: close the folder now, and ask no more of it
            dir = nullptr;
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

// The usage scan's calls are spread over this many threads: on network storage every fstatat is
// a round trip, and the first login of a user with 10,000 files would wait for 10,000 of them in
// series. Names are stat'ed in chunks, a chunk a task.
constexpr unsigned usage_scan_threads = 8;
constexpr std::size_t usage_scan_chunk = 32;

// Sum of regular file sizes in a folder and below, by several threads. Never follows symlinks:
// folders are opened with O_NOFOLLOW, entries are stat'ed with AT_SYMLINK_NOFOLLOW. Unreadable
// sub-folders (and those deeper than max_usage_depth) are skipped rather than failing the scan.
class UsageScan {
public:
    Result<std::uint64_t> run(File root);

private:
    struct Task {
        std::shared_ptr<const File> folder;
        std::vector<std::string> names;  // to stat in `folder`; none: read `folder` itself
        int depth = 0;
    };
    void work();
    void read_names(const Task& task);
    void stat_names(const Task& task);
    void push(Task task);

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Task> tasks_;  // a stack: depth first, so that few folders are open at once
    unsigned running_ = 0;     // tasks taken and not finished; none and no tasks: done
    std::atomic<std::uint64_t> total_{0};
    Error root_error_;
};

Result<std::uint64_t> UsageScan::run(File root) {
    auto folder = std::make_shared<const File>(std::move(root));
    // The root is read here, so that its error is the scan's.
    Task first{folder, {}, 0};
    read_names(first);
    if (root_error_) return root_error_;
    std::vector<std::thread> helpers;
    try {
        for (unsigned i = 1; i < usage_scan_threads; ++i) helpers.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
        // No more threads to be had: the ones started (and this one) do the whole scan.
    }
    work();
    for (auto& helper : helpers) helper.join();
    return total_.load();
}

void UsageScan::work() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [this] { return !tasks_.empty() || running_ == 0; });
        if (tasks_.empty()) return;  // nothing queued and nothing running that could queue more
        Task task = std::move(tasks_.back());
        tasks_.pop_back();
        ++running_;
        lock.unlock();
        if (task.names.empty()) read_names(task); else stat_names(task);
        lock.lock();
        --running_;
        changed_.notify_all();
    }
}

void UsageScan::push(Task task) {
    const std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    changed_.notify_one();
}

void UsageScan::read_names(const Task& task) {
    File own(::fcntl(task.folder->get(), F_DUPFD_CLOEXEC, 0));  // the stream closes its own
    if (!own) return;
    auto stream = open_stream(std::move(own));
    if (!stream) return;
    ::rewinddir(stream->get());  // a duplicate shares the offset; start at the beginning
    std::vector<std::string> names;
    const dirent* ent = nullptr;
    while ((ent = next_entry(stream->get())) != nullptr) {
        if (is_dot_or_dotdot(ent->d_name)) continue;
        names.emplace_back(ent->d_name);
        if (names.size() == usage_scan_chunk) push(Task{task.folder, std::exchange(names, {}), task.depth});
    }
    if (errno != 0 && task.depth == 0) root_error_ = sys::last_error();
    if (!names.empty()) push(Task{task.folder, std::move(names), task.depth});
}

void UsageScan::stat_names(const Task& task) {
    std::uint64_t sum = 0;
    for (const auto& name : task.names) {
        struct stat st {};
        if (::fstatat(task.folder->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISREG(st.st_mode)) {
            sum += static_cast<std::uint64_t>(st.st_size);
        } else if (S_ISDIR(st.st_mode) && task.depth < max_usage_depth) {
            const int sub = ::openat(task.folder->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) push(Task{std::make_shared<const File>(sub), {}, task.depth + 1});
        }
    }
    total_ += sum;
}

}  // namespace

Result<std::uint64_t> Home::usage() const {
    sys::off_reactor("Home::usage");
    auto root = open_directory("/");
    if (!root) return root.error();
    return UsageScan().run(std::move(*root));
}

}  // namespace ferry::fs
