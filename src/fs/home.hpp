// A user's home: the only way a session touches the file system.
//
// Every call takes a normalised virtual path (vpath_resolve) and resolves it beneath the home's
// folder handle, in one place per platform (fs/linux/home.cpp: openat2 with RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS): "..", absolute symlinks and symlinks that lead outside all fail with
// Errc::outside instead of escaping. String checks are not the defence. Errors are Errors
// (not_found, not_directory, is_directory, exists, not_empty, outside, permission, quota,
// no_space, ...); the session maps them to replies.
#pragma once
#include "base/result.hpp"
#include "fs/folder_cache.hpp"
#include "sys/file.hpp"
#include "sys/handle.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::fs {

using sys::FileInfo;

struct DirEntry {
    std::string name;
    FileInfo info;  // of the entry itself for symlinks that cannot be followed inside the home
};

enum class WriteMode {
    truncate,    // STOR: create or truncate
    at_offset,   // STOR after REST n: create if missing, keep contents, caller writes at n, truncates after
    append,      // APPE: create or append at the end
    create_new,  // STOU: fail with Errc::exists if the name exists
};

class Home;

// A folder read a batch at a time, so that listing it takes memory for one batch, not for the
// whole folder (a 100,000-entry MLSD used to peak at ~100 MB). Entries come in the folder's own
// order, each batch sorted by name. Move-only; used by one pool job at a time.
class FolderReader {
public:
    // Up to `max` more entries, without "." and ".."; an empty batch is the end.
    Result<std::vector<DirEntry>> next(std::size_t max);

    FolderReader();  // reads nothing (Result needs it)
    FolderReader(FolderReader&&) noexcept;
    FolderReader& operator=(FolderReader&&) noexcept;
    ~FolderReader();

    struct Impl;  // the platform's folder stream
    explicit FolderReader(std::unique_ptr<Impl> impl);

private:
    std::unique_ptr<Impl> impl_;
};

class Home {
public:
    // Opens `directory` (creating it with mode 0750 when `create` and missing). For a folder the
    // administrator named (the root of homes); an account's home is opened beneath it (below).
    static Result<Home> open(const std::string& directory, bool create);
    // An account's home: `relative` (the accounts file's "home", checked by valid_home_path)
    // opened beneath the folder `root` and never through a symlink (openat2 RESOLVE_BENEATH |
    // RESOLVE_NO_SYMLINKS; on Windows NtCreateFile beneath the root's handle, no reparse point),
    // so a link planted on the way by a local user cannot move the home outside `root`. Missing
    // folders are made beneath it the same way when `create`.
    static Result<Home> open(const std::string& root, std::string_view relative, bool create);
    Home() = default;
    // Keep handles of the folders used lately for `ttl` (FolderCache; zero: none). Linux only so far.
    // Call before the Home is shared.
    void keep_folders(std::chrono::milliseconds ttl);
    // Every const member is safe to call from several threads at once (sessions and pool jobs
    // share one Home per user through HomeRegistry).

    // The file or folder itself; follows symlinks only while they stay inside the home.
    Result<FileInfo> stat(std::string_view vpath) const;
    bool is_directory(std::string_view vpath) const;
    // The entry itself: a symlink's own stat, not its target's (what DELE or RNTO-over frees).
    Result<FileInfo> lstat(std::string_view vpath) const;

    // Regular files only (is_directory otherwise); new files get mode 0640. `info`, when given, gets
    // what the open checked (the file's size and identity), which saves the caller an fstat: on
    // network storage each one is a round trip.
    Result<File> open_read(std::string_view vpath, FileInfo* info = nullptr) const;
    Result<File> open_write(std::string_view vpath, WriteMode mode, FileInfo* info = nullptr) const;
    Result<File> open_directory(std::string_view vpath) const;        // a folder, for reading

    Status make_directory(std::string_view vpath) const;  // mode 0750
    Status remove_directory(std::string_view vpath) const;
    Status remove_file(std::string_view vpath) const;     // a symlink is removed, not its target
    Status rename(std::string_view from, std::string_view to) const;  // replaces a file, never a folder
    Status set_mtime(std::string_view vpath, std::int64_t unix_seconds) const;  // MFMT
    // SITE CHMOD: permission bits (<= 0777) of a file or folder; permission for the home itself,
    // so a user cannot lock the server out of their whole home.
    Status set_mode(std::string_view vpath, std::uint32_t mode) const;

    // Whether `directory` still names the folder this Home has open (same device and inode).
    bool still_at(const std::string& directory) const;

    // The folder for reading in batches. Runs on the worker pool.
    Result<FolderReader> read_folder(std::string_view vpath) const;
    // Bytes used by every regular file beneath the home (st_blocks*512 is not used: sizes count).
    // Folders more than 64 levels down are not counted (and not opened: that bounds the scan).
    Result<std::uint64_t> usage() const;
    // Levels of folders beneath the folder `vpath` (0: it has none), counted no further than
    // `limit` + 1; symlinks are not followed. Runs on the worker pool (RNTO of a folder).
    Result<unsigned> folder_height(std::string_view vpath, unsigned limit) const;
    // Bytes the file system holding the home still has for users (AVBL).
    Result<std::uint64_t> free_space() const { return sys::free_space(dir_); }

    const std::string& path() const { return path_; }

private:
    // The folder vpath's last component (`name`) is in, opened beneath the home. On Linux the
    // home's own handle when that folder is the home, or one the FolderCache kept: no open and
    // close, each a round trip on network storage.
    struct Parent {
        std::shared_ptr<const File> held;  // empty when the folder is the home
        File::Native native;
        File::Native get() const { return native; }
    };
    Result<Parent> open_parent(std::string_view vpath, std::string& name) const;
    Result<Parent> folder_handle(std::string_view folder_vpath) const;  // Linux: the one above
    // Linux: a regular file, from its folder's kept handle when there is a FolderCache.
    Result<File> open_file(std::string_view vpath, int flags, FileInfo* info) const;
    void forget_folders_beneath(std::string_view vpath) const {
        if (folders_) folders_->forget_beneath(vpath);
    }

    File dir_;
    std::string path_;
    std::unique_ptr<FolderCache> folders_;  // null: every name resolved from the home
    // Windows only: the folder's final path, which every open beneath it is checked against
    // (fs/windows/nt_open.hpp). Empty on Linux, where openat2 holds the line by itself.
    std::wstring final_path_;
};

}  // namespace ferry::fs
