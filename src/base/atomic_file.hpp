// Files that several processes rewrite (the accounts file, the bans file): an exclusive lock for
// the whole read-modify-write, and a replacement that is atomic and survives a crash.
#pragma once
#include "base/fd.hpp"
#include "base/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

// Held for the whole read-modify-write. flock locks belong to the open file description, so this
// also serialises threads of one process, each of which opens its own descriptor.
class FileLock {
public:
    // Creates `lock_path` (0600) if needed and waits for the exclusive lock; 0 or an errno.
    int acquire(const std::string& lock_path);

private:
    Fd fd_;  // the lock is released when it closes
};

// Temp file "<path>.tmp.<pid>" (0600) in the same folder (so rename is atomic), fsync, rename,
// fsync the folder (so the rename itself survives a crash). On failure *error says what and where.
Status replace_file_atomically(const std::string& path, std::string_view contents, std::string* error);

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
