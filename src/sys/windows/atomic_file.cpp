// sys/atomic_file.hpp on Windows: LockFileEx on the lock file, and a temp file flushed and moved
// into place with MoveFileExW(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH).
#include "sys/atomic_file.hpp"

#include "sys/file.hpp"
#include "sys/process.hpp"
#include "sys/windows/wide.hpp"

#include <windows.h>

namespace ferry {

using sys::windows::last_win32_error;
using sys::windows::native_path;

namespace {

std::string error_text(const std::string& what, const std::string& path, const Error& err) {
    return what + " " + path + ": " + err.message();
}

constexpr DWORD share_all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
constexpr int replace_attempts = 200;  // about 4 s of 10-50 ms waits

}  // namespace

Status FileLock::acquire(const std::string& lock_path) {
    file_.reset(CreateFileW(native_path(lock_path).c_str(), GENERIC_READ | GENERIC_WRITE, share_all, nullptr,
                            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!file_) return last_win32_error();
    OVERLAPPED whole{};
    if (!LockFileEx(file_.get(), LOCKFILE_EXCLUSIVE_LOCK, 0, MAXDWORD, MAXDWORD, &whole)) return last_win32_error();
    return {};
}

std::string parent_folder(const std::string& path) {
    const auto slash = path.find_last_of("/\\");
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

namespace {

enum class Placing { replace, never_replace };

// Windows has no mode bits: the new file gets the folder's inherited ACL, as any file there.
Status write_atomically(const std::string& path, std::string_view contents, Placing placing, std::string* error) {
    const std::string temp_path = path + ".tmp." + std::to_string(sys::process_id());
    const std::wstring temp_wide = native_path(temp_path);
    auto fail = [&](const char* what, const std::string& where, Error err) {
        if (error) *error = error_text(what, where, err);
        DeleteFileW(temp_wide.c_str());
        return err;
    };
    {
        File temp(CreateFileW(temp_wide.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
        if (!temp) return fail("cannot create", temp_path, last_win32_error());
        std::uint64_t done = 0;
        if (const Status err = sys::write_all_at(temp, contents, 0, done)) return fail("cannot write", temp_path, err);
        if (!FlushFileBuffers(temp.get())) return fail("cannot flush", temp_path, last_win32_error());
    }
    const DWORD flags = MOVEFILE_WRITE_THROUGH | (placing == Placing::replace ? MOVEFILE_REPLACE_EXISTING : 0);
    // Windows refuses to replace a file that is open at that moment, even by a reader that shares
    // delete access (another session reloading the accounts): those opens are brief, so retry.
    for (int attempt = 0;; ++attempt) {
        if (MoveFileExW(temp_wide.c_str(), native_path(path).c_str(), flags)) return {};
        const DWORD code = GetLastError();
        const bool in_use = code == ERROR_ACCESS_DENIED || code == ERROR_SHARING_VIOLATION;
        if (!in_use || attempt >= replace_attempts)
            return fail(placing == Placing::replace ? "cannot rename over" : "cannot create", path,
                        sys::windows::from_win32(code));
        Sleep(10 + 10 * (attempt % 5));
    }
}

}  // namespace

Status replace_file_atomically(const std::string& path, std::string_view contents, std::string* error) {
    return write_atomically(path, contents, Placing::replace, error);
}

Status create_file_atomically(const std::string& path, std::string_view contents, std::uint32_t, std::string* error) {
    return write_atomically(path, contents, Placing::never_replace, error);
}

Status make_folders(const std::string& folder, std::uint32_t) {
    for (std::size_t pos = 1; pos <= folder.size(); ++pos) {
        if (pos != folder.size() && folder[pos] != '/' && folder[pos] != '\\') continue;
        const std::string prefix = folder.substr(0, pos);
        if (prefix.size() == 2 && prefix[1] == ':') continue;  // "C:"
        if (CreateDirectoryW(native_path(prefix).c_str(), nullptr)) continue;
        if (GetLastError() != ERROR_ALREADY_EXISTS && GetLastError() != ERROR_ACCESS_DENIED) return last_win32_error();
        const auto info = sys::path_info(prefix);
        if (!info) return info.error();
        if (!info->is_directory()) return Error(Errc::not_directory, ERROR_DIRECTORY);
    }
    return {};
}

Status rename_path(const std::string& from, const std::string& to) {
    return MoveFileExW(native_path(from).c_str(), native_path(to).c_str(), MOVEFILE_REPLACE_EXISTING) ? Status{}
                                                                                                       : last_win32_error();
}

Result<std::string> read_whole_file(const std::string& path) {
    const auto file = sys::open_file(path, sys::OpenMode::read);
    if (!file) return file.error();
    std::string text;
    char buffer[16384];
    for (;;) {
        const auto got = sys::read_at(*file, buffer, text.size());
        if (!got) return got.error();
        if (*got == 0) return text;
        text.append(buffer, *got);
    }
}

}  // namespace ferry
