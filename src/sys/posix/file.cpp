#include "sys/file.hpp"
#include "sys/reactor_thread.hpp"

#include "sys/posix/errno.hpp"
#include "sys/posix/fd_io.hpp"
#include "sys/posix/stat.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace ferry::sys {
namespace {

FileType type_of(mode_t mode) {
    if (S_ISREG(mode)) return FileType::regular;
    if (S_ISDIR(mode)) return FileType::directory;
    if (S_ISLNK(mode)) return FileType::symlink;
    if (S_ISFIFO(mode)) return FileType::fifo;
    if (S_ISSOCK(mode)) return FileType::socket;
    if (S_ISCHR(mode)) return FileType::char_device;
    if (S_ISBLK(mode)) return FileType::block_device;
    return FileType::other;
}

}  // namespace

FileInfo info_from_stat(const struct stat& st) {
    FileInfo info;
    info.type = type_of(st.st_mode);
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec);
    info.mtime_ns = info.mtime * 1'000'000'000 + st.st_mtim.tv_nsec;
    info.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
    info.permissions = static_cast<std::uint32_t>(st.st_mode & 07777);
    info.links = static_cast<std::uint64_t>(st.st_nlink);
    info.id = FileId{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
    return info;
}

Result<File> open_file(const std::string& path, OpenMode mode) {
    const int flags = mode == OpenMode::read      ? O_RDONLY
                      : mode == OpenMode::scratch ? O_RDWR | O_CREAT | O_TRUNC
                                                  : O_WRONLY | O_CREAT | (mode == OpenMode::replace ? O_TRUNC : 0);
    File file(::open(path.c_str(), flags | O_CLOEXEC, 0644));
    if (!file) return last_error();
    return file;
}

std::FILE* open_log_file(const std::string& path) { return std::fopen(path.c_str(), "ae"); }

Result<FileInfo> file_info(const File& file) {
    off_reactor("file_info");
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) return last_error();
    return info_from_stat(st);
}

Result<FileInfo> path_info(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return last_error();
    return info_from_stat(st);
}

Result<std::size_t> read_at(const File& file, std::span<char> buffer, std::uint64_t offset) {
    off_reactor("read_at");
    while (true) {
        const ssize_t n = ::pread(file.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return last_error();
    }
}

Status write_all_at(const File& file, std::span<const char> data, std::uint64_t at, std::uint64_t& done) {
    off_reactor("write_all_at");
    return write_received_at(file, data, at, done);
}

Status write_received_at(const File& file, std::span<const char> data, std::uint64_t at, std::uint64_t& done) {
    return from_errno(pwrite_all(file.get(), data, at, done));
}

Result<std::size_t> read_cached_at(const File& file, std::span<char> buffer, std::uint64_t offset) {
    iovec vector{buffer.data(), buffer.size()};
    while (true) {
        const ssize_t n = ::preadv2(file.get(), &vector, 1, static_cast<off_t>(offset), RWF_NOWAIT);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EAGAIN || errno == EOPNOTSUPP) return Error(Errc::would_block, EAGAIN);
        if (errno != EINTR) return last_error();
    }
}

Status close(File& file) {
    off_reactor("close");
    const int fd = file.release();
    if (fd < 0) return {};
    // Linux frees the descriptor even when close fails, EINTR included.
    return ::close(fd) == 0 || errno == EINTR ? Status{} : last_error();
}

Status truncate(const File& file, std::uint64_t size) {
    off_reactor("truncate");
    return ::ftruncate(file.get(), static_cast<off_t>(size)) == 0 ? Status{} : last_error();
}

void advise_sequential(const File& file, std::uint64_t offset, std::uint64_t length) {
    ::posix_fadvise(file.get(), static_cast<off_t>(offset), static_cast<off_t>(length), POSIX_FADV_SEQUENTIAL);
}

namespace {

// ENODATA (not set) and ENOTSUP (no xattrs here) are the two answers callers tell apart.
Error attribute_error() {
    if (errno == ENODATA) return Error(Errc::not_found, errno);
    if (errno == ENOTSUP) return Error(Errc::unsupported, errno);
    return last_error();
}

}  // namespace

Result<std::string> get_attribute(const File& file, const std::string& name) {
    off_reactor("get_attribute");
    std::string value(256, '\0');
    const ssize_t n = ::fgetxattr(file.get(), name.c_str(), value.data(), value.size());
    if (n < 0) return attribute_error();
    value.resize(static_cast<std::size_t>(n));
    return value;
}

Status set_attribute(const File& file, const std::string& name, std::string_view value) {
    off_reactor("set_attribute");
    if (::fsetxattr(file.get(), name.c_str(), value.data(), value.size(), 0) != 0) return attribute_error();
    return {};
}

Result<std::string> attribute_names(const File& file) {
    off_reactor("attribute_names");
    std::string names(1024, '\0');
    for (;;) {
        const ssize_t n = ::flistxattr(file.get(), names.data(), names.size());
        if (n >= 0) {
            names.resize(static_cast<std::size_t>(n));
            return names;
        }
        if (errno != ERANGE) return attribute_error();
        const ssize_t needed = ::flistxattr(file.get(), nullptr, 0);  // grew meanwhile: ask the size
        if (needed < 0) return attribute_error();
        names.resize(static_cast<std::size_t>(needed) + 256);
    }
}

Status remove_attribute(const File& file, const std::string& name) {
    off_reactor("remove_attribute");
    if (::fremovexattr(file.get(), name.c_str()) != 0) return attribute_error();
    return {};
}

Result<std::uint64_t> free_space(const File& file) {
    off_reactor("free_space");
    struct statvfs stats {};
    if (::fstatvfs(file.get(), &stats) != 0) return last_error();
    return static_cast<std::uint64_t>(stats.f_bavail) * stats.f_frsize;
}

}  // namespace ferry::sys
