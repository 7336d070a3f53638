// Files that several processes rewrite (the accounts file, the bans file): an exclusive lock for
// the whole read-modify-write, and a replacement that is atomic and survives a crash.
#pragma once
#include "base/result.hpp"
#include "sys/handle.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

// Held for the whole read-modify-write: an advisory lock (flock; LockFileEx on Windows) that
// belongs to the open file, so it also serialises threads of one process, each opening its own.
class FileLock {
public:
    // Creates `lock_path` (0600) if needed and waits for the exclusive lock.
    Status acquire(const std::string& lock_path);

private:
    File file_;  // the lock is released when it closes
};

// Temp file "<path>.tmp.<pid>" (0600) in the same folder (so rename is atomic), fsync, rename,
// fsync the folder (so the rename itself survives a crash). On failure *error says what and where.
Status replace_file_atomically(const std::string& path, std::string_view contents, std::string* error);

// The same for a file that must not exist yet: the final rename fails (exists) instead of
// replacing one that appeared meanwhile. `mode` is the new file's permission bits.
Status create_file_atomically(const std::string& path, std::string_view contents, std::uint32_t mode,
                              std::string* error);

// mkdir -p: `folder` and its missing parents, the new ones with exactly `mode` (whatever the
// umask). not_directory when a part of the path is a file.
Status make_folders(const std::string& folder, std::uint32_t mode);
// rename(2) of the server's own files and folders (never a path in a home: fs/ does those).
Status rename_path(const std::string& from, const std::string& to);

// The whole of a (small) file: the accounts and bans files. not_found when it is missing.
Result<std::string> read_whole_file(const std::string& path);

// What tells a rewritten file from the one read before, from one stat: rewrites replace the file
// (a new inode), so even two changes within one mtime tick are told apart. A missing file has
// the stamp {0, -1, -1}.
struct FileStamp {
    std::uint64_t inode = 0;
    std::int64_t size = -1;
    std::int64_t mtime_ns = -1;
    bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_of(const std::string& path);

// "a/b/c" -> "a/b", "c" -> ".", "/c" -> "/".
std::string parent_folder(const std::string& path);

}  // namespace ferry
