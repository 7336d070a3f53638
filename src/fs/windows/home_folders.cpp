// Home folders on Windows (see home_folders.hpp): retiring, purging and pruning homes below the
// root. Links and junctions inside a home are removed as links, never entered.
#include "fs/home_folders.hpp"

#include "base/log.hpp"
#include "sys/atomic_file.hpp"
#include "sys/windows/wide.hpp"

#include <windows.h>

#include <vector>

namespace ferry::fs {
namespace {

constexpr const char* deleted_folder = ".deleted";  // auth::deleted_homes_folder, which fs may not include

std::wstring path_of(const std::string& root, const std::string& rest) {
    return sys::windows::native_path(rest.empty() ? root : root + "/" + rest);
}

// rm -r of `path`: entries are looked at without following them; a reparse point is removed as
// itself (RemoveDirectoryW on a junction removes the junction, not its target's contents).
Status remove_tree(const std::wstring& path, int depth = 0) {
    const DWORD attributes = GetFileAttributesW(path.c_str());
    if (attributes == INVALID_FILE_ATTRIBUTES) {
        const DWORD code = GetLastError();
        return code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND ? Status{} : sys::windows::from_win32(code);
    }
    if (attributes & FILE_ATTRIBUTE_READONLY) SetFileAttributesW(path.c_str(), attributes & ~FILE_ATTRIBUTE_READONLY);
    if (!(attributes & FILE_ATTRIBUTE_DIRECTORY))
        return DeleteFileW(path.c_str()) ? Status{} : sys::windows::last_win32_error();
    if (!(attributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
        if (depth > 256) return Error(Errc::too_many_links);
        std::vector<std::wstring> children;
        WIN32_FIND_DATAW found{};
        HANDLE search = FindFirstFileExW((path + L"\\*").c_str(), FindExInfoBasic, &found, FindExSearchNameMatch, nullptr, 0);
        if (search != INVALID_HANDLE_VALUE) {
            do {
                const std::wstring_view name = found.cFileName;
                if (name != L"." && name != L"..") children.emplace_back(path + L"\\" + found.cFileName);
            } while (FindNextFileW(search, &found));
            FindClose(search);
        }
        Status first;
        for (const auto& child : children)
            if (Status err = remove_tree(child, depth + 1); err && !first) first = err;
        if (first) return first;
    }
    return RemoveDirectoryW(path.c_str()) ? Status{} : sys::windows::last_win32_error();
}

}  // namespace

Result<bool> home_exists(const std::string& root, const std::string& home) {
    if (GetFileAttributesW(path_of(root, home).c_str()) != INVALID_FILE_ATTRIBUTES) return true;
    const DWORD code = GetLastError();
    if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND) return false;
    return sys::windows::from_win32(code);
}

Result<std::string> retire_home(const std::string& root, const std::string& home, const std::string& name,
                                std::time_t now) {
    const std::wstring from = path_of(root, home);
    if (GetFileAttributesW(from.c_str()) == INVALID_FILE_ATTRIBUTES) return sys::windows::last_win32_error();
    const std::wstring deleted = path_of(root, deleted_folder);
    if (!CreateDirectoryW(deleted.c_str(), nullptr) && GetLastError() != ERROR_ALREADY_EXISTS)
        return sys::windows::last_win32_error();
    const std::string base = name + "-" + utc_stamp(now);
    for (int attempt = 1; attempt < 1000; ++attempt) {
        const std::string target = attempt == 1 ? base : base + "." + std::to_string(attempt);
        // No MOVEFILE_REPLACE_EXISTING: a name taken is the next attempt, never replaced.
        if (MoveFileExW(from.c_str(), path_of(root, std::string(deleted_folder) + "/" + target).c_str(), 0))
            return root + "/" + deleted_folder + "/" + target;
        const DWORD code = GetLastError();
        if (code != ERROR_ALREADY_EXISTS && code != ERROR_FILE_EXISTS) return sys::windows::from_win32(code);
    }
    return Error(Errc::exists);
}

Status purge_home(const std::string& root, const std::string& home) { return remove_tree(path_of(root, home)); }

std::size_t prune_retired_homes(const std::string& root, std::chrono::seconds retention, std::time_t now) {
    const std::wstring folder = path_of(root, deleted_folder);
    std::vector<std::wstring> expired;
    WIN32_FIND_DATAW found{};
    HANDLE search = FindFirstFileExW((folder + L"\\*").c_str(), FindExInfoBasic, &found, FindExSearchNameMatch, nullptr, 0);
    if (search == INVALID_HANDLE_VALUE) return 0;  // nothing was ever deleted
    do {
        const std::time_t at = retired_at(sys::windows::to_utf8(found.cFileName));
        if (at >= 0 && now - at > retention.count()) expired.emplace_back(found.cFileName);
    } while (FindNextFileW(search, &found));
    FindClose(search);
    std::size_t removed = 0;
    for (const auto& name : expired) {
        const std::string shown = root + "/" + deleted_folder + "/" + sys::windows::to_utf8(name);
        if (Status err = remove_tree(folder + L"\\" + name)) {
            log::error(cat("deleted_retention: cannot remove ", shown, ": ", err.message()));
            continue;
        }
        log::info(cat("deleted_retention: removed ", shown));
        ++removed;
    }
    return removed;
}

}  // namespace ferry::fs
