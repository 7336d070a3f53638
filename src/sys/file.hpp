// What the code knows about a file, and the positioned I/O it does on one, on any platform.
#pragma once
#include "base/result.hpp"
#include "sys/handle.hpp"

#include <compare>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

namespace ferry::sys {

enum class FileType : std::uint8_t { regular, directory, symlink, fifo, socket, char_device, block_device, other };

// Identifies a file on this machine (device and inode; volume serial and file index on Windows).
struct FileId {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    auto operator<=>(const FileId&) const = default;  // ordered: a key of maps
};

struct FileInfo {
    FileType type = FileType::other;
    std::uint64_t size = 0;
    std::int64_t mtime = 0;         // seconds since 1970 (UTC)
    std::int64_t mtime_ns = 0;      // the same in nanoseconds, for change checks
    // The last change of the file or its metadata (POSIX ctime, ns), which no program can set
    // back; -1 where it is not read (Windows: another call per stat).
    std::int64_t ctime_ns = -1;
    std::uint32_t permissions = 0;  // the 07777 bits (synthesised where the OS has none)
    std::uint64_t links = 1;
    FileId id;

    bool is_regular() const { return type == FileType::regular; }
    bool is_directory() const { return type == FileType::directory; }
    bool is_symlink() const { return type == FileType::symlink; }
};

// A local file by path, for the client's own files (never a path in a home: fs/ opens those).
// write: create or keep; replace: create or truncate; scratch: create or truncate, read and write.
enum class OpenMode { read, write, replace, scratch };
Result<File> open_file(const std::string& path, OpenMode mode);

// A log file opened for appending, not inherited by child processes; nullptr on failure.
std::FILE* open_log_file(const std::string& path);

// The open file's own information.
Result<FileInfo> file_info(const File& file);
// The named path's (links followed). For the server's own files (config, accounts), never for a home.
Result<FileInfo> path_info(const std::string& path);

// Up to buffer.size() bytes at `offset`; 0 at the end of the file. Interrupted reads are retried.
Result<std::size_t> read_at(const File& file, std::span<char> buffer, std::uint64_t offset);
// All of `data` at `at`. A short write is retried so that its error (no_space, quota) surfaces;
// `done` grows by what reached the file, also on failure.
Status write_all_at(const File& file, std::span<const char> data, std::uint64_t at, std::uint64_t& done);

// The data path's own entry points, allowed on a reactor thread (sys/reactor_thread.hpp): they
// never wait for storage. write_received_at: write_all_at of bytes just received (an upload), which
// go to the page cache. read_cached_at: read_at only of what the page cache holds (Linux: preadv2
// with RWF_NOWAIT); would_block when some of it would have to come from storage (and always on
// Windows, which has no such read), so the caller reads it on the I/O pool instead.
Status write_received_at(const File& file, std::span<const char> data, std::uint64_t at, std::uint64_t& done);
Result<std::size_t> read_cached_at(const File& file, std::span<char> buffer, std::uint64_t offset);
// Closes `file` now and says whether it went well: on NFS, close writes back what the page cache
// still holds of the file and reports what failed then (EIO, EDQUOT, ENOSPC). The handle is gone
// either way (never retried).
Status close(File& file);
// Cut or extend the file to `size` bytes.
Status truncate(const File& file, std::uint64_t size);
// A hint that [offset, offset + length) will be read once, in order (read-ahead).
void advise_sequential(const File& file, std::uint64_t offset, std::uint64_t length);
// Extended attributes of an open file ("user.ferry.sha256"): small values kept with the file.
// unsupported where the file system (or the platform) has none; not_found when it is not set.
Result<std::string> get_attribute(const File& file, const std::string& name);
Status set_attribute(const File& file, const std::string& name, std::string_view value);
Status remove_attribute(const File& file, const std::string& name);
// The names of the file's attributes, each ending with '\0' (one call, where removing each name
// that may be there would be one call per name).
Result<std::string> attribute_names(const File& file);

// Bytes an unprivileged user may still write on the file system holding `file`.
Result<std::uint64_t> free_space(const File& file);

}  // namespace ferry::sys
