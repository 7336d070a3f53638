// Home on Windows: opening, stat and name operations, all through windows::open_beneath (the home's
// folder handle as NtCreateFile's RootDirectory, then the containment check). Listing and usage
// scans live in home_scan.cpp.
#include "fs/home.hpp"
#include "sys/reactor_thread.hpp"

#include "fs/vpath.hpp"
#include "fs/windows/nt_open.hpp"
#include "sys/atomic_file.hpp"
#include "sys/windows/file_info.hpp"
#include "sys/windows/wide.hpp"

#include <winternl.h>

#include <cstring>
#include <vector>

#ifndef FILE_DIRECTORY_FILE
#define FILE_DIRECTORY_FILE 0x00000001
#endif
#ifndef FILE_NON_DIRECTORY_FILE
#define FILE_NON_DIRECTORY_FILE 0x00000040
#endif
#ifndef FILE_SEQUENTIAL_ONLY
#define FILE_SEQUENTIAL_ONLY 0x00000004
#endif

namespace ferry::fs {

using windows::Disposition;
using windows::OpenRequest;

namespace {

bool is_root(std::string_view vpath) { return vpath_relative(vpath) == "."; }

Status set_information(HANDLE handle, FILE_INFORMATION_CLASS kind, void* data, ULONG size) {
    IO_STATUS_BLOCK status{};
    const NTSTATUS result = NtSetInformationFile(handle, &status, data, size, kind);
    return result >= 0 ? Status{} : sys::windows::from_ntstatus(result);
}

// FILE_RENAME_INFORMATION with the target named relative to a folder handle.
Status rename_beneath(HANDLE source, HANDLE to_folder, const std::string& to_name, bool replace) {
    const auto wide = sys::windows::to_wide(to_name);
    if (!wide) return Error(Errc::invalid);
    struct RenameHeader {
        BOOLEAN replace_if_exists;
        HANDLE root_directory;
        ULONG name_length;
    };
    const std::size_t size = offsetof(FILE_RENAME_INFO, FileName) + wide->size() * sizeof(wchar_t);
    std::vector<char> storage(size + sizeof(wchar_t), 0);
    auto* info = reinterpret_cast<FILE_RENAME_INFO*>(storage.data());
    info->ReplaceIfExists = replace;
    info->RootDirectory = to_folder;
    info->FileNameLength = static_cast<DWORD>(wide->size() * sizeof(wchar_t));
    std::memcpy(info->FileName, wide->data(), wide->size() * sizeof(wchar_t));
    constexpr auto file_rename_information = static_cast<FILE_INFORMATION_CLASS>(10);
    return set_information(source, file_rename_information, info, static_cast<ULONG>(size));
}

Status mark_for_delete(HANDLE handle) {
    FILE_DISPOSITION_INFO disposition{};
    disposition.DeleteFile = TRUE;
    return SetFileInformationByHandle(handle, FileDispositionInfo, &disposition, sizeof disposition)
               ? Status{}
               : sys::windows::last_win32_error();
}

}  // namespace

Result<Home> Home::open(const std::string& directory, bool create) {
    sys::off_reactor("Home::open");
    if (directory.empty()) return Error(Errc::invalid);
    if (create) {
        if (const Status err = make_folders(directory, 0750)) return Result<Home>::failure(err);
    }
    File dir(CreateFileW(sys::windows::native_path(directory).c_str(), FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS, nullptr));
    if (!dir) return sys::windows::last_win32_error();
    Home home;
    home.final_path_ = windows::final_path_of(dir.get());
    if (home.final_path_.empty()) return sys::windows::last_win32_error();
    home.dir_ = std::move(dir);
    home.path_ = directory;
    return home;
}

Result<Home> Home::open(const std::string& root, std::string_view relative, bool create) {
    sys::off_reactor("Home::open");
    if (root.empty() || relative.empty()) return Error(Errc::invalid);
    auto root_home = open(root, false);
    if (!root_home) return root_home.error();
    const HANDLE root_dir = root_home->dir_.get();
    const std::wstring& root_final = root_home->final_path_;
    const OpenRequest folder{FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES,
                             create ? Disposition::open_or_create : Disposition::open, FILE_DIRECTORY_FILE};
    // Each folder on the way in turn: none may be a link or junction (open_beneath opens the
    // last component itself, never what it points to, and checks that it lies within the root).
    for (std::size_t pos = 0; pos != std::string_view::npos;) {
        pos = relative.find('/', pos + 1);
        auto dir = windows::open_beneath(root_dir, root_final, relative.substr(0, pos), folder);
        if (!dir) return dir.error();
        if (windows::is_reparse_point(dir->get())) return Error(Errc::too_many_links);
        if (pos != std::string_view::npos) continue;
        Home home;
        home.final_path_ = windows::final_path_of(dir->get());
        if (home.final_path_.empty()) return sys::windows::last_win32_error();
        home.dir_ = std::move(*dir);
        home.path_ = root + "/" + std::string(relative);
        return home;
    }
    return Error(Errc::invalid);
}

// Always opened: the home's own handle was not opened for listing and creating in it.
Result<Home::Parent> Home::open_parent(std::string_view vpath, std::string& name) const {
    name = std::string(vpath_name(vpath));
    if (!windows::safe_component(name)) return Error(Errc::invalid);
    auto opened = windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath_parent(vpath)),
                                        OpenRequest{FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES,
                                                    Disposition::open, FILE_DIRECTORY_FILE});
    if (!opened) return opened.error();
    const HANDLE handle = opened->get();
    return Parent{std::make_shared<const File>(std::move(*opened)), handle};
}

Result<FileInfo> Home::stat(std::string_view vpath) const {
    sys::off_reactor("Home::stat");
    auto file = windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath), OpenRequest{});
    if (!file) return file.error();
    return sys::file_info(*file);
}

// Reparse points are refused by open_beneath, so what is there is never a link to report.
Result<FileInfo> Home::lstat(std::string_view vpath) const { return stat(vpath); }

Result<File> Home::open_read(std::string_view vpath, FileInfo* checked) const {
    sys::off_reactor("Home::open_read");
    auto file = windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath),
                                      OpenRequest{GENERIC_READ, Disposition::open, FILE_NON_DIRECTORY_FILE | FILE_SEQUENTIAL_ONLY});
    if (!file) return file;
    const auto info = sys::file_info(*file);
    if (!info) return info.error();
    if (!info->is_regular()) return Error(Errc::permission);
    if (checked) *checked = *info;
    return file;
}

Result<File> Home::open_write(std::string_view vpath, WriteMode mode, FileInfo* checked) const {
    sys::off_reactor("Home::open_write");
    // Made only through the parent, opened and checked first: NtCreateFile would follow a link in
    // an earlier component (wine always does) and create the file wherever it leads before the
    // containment check after the open could refuse it.
    std::string name;
    auto parent = open_parent(vpath, name);
    if (!parent) return parent.error();
    // Writes go to explicit offsets (APPE writes at the size it found), so GENERIC_WRITE for all.
    constexpr ACCESS_MASK access = GENERIC_WRITE | GENERIC_READ;
    // First a new file: FILE_CREATE fails on any name that exists, a link (dangling or not)
    // included, so nothing is ever created at the far end of one. Then an existing file, opened
    // without truncating, so that a link to a file outside is refused before anything changes.
    auto file = windows::open_beneath(parent->get(), final_path_, name,
                                      OpenRequest{access, Disposition::create, FILE_NON_DIRECTORY_FILE});
    if (!file && file.error() == Errc::exists && mode != WriteMode::create_new)
        file = windows::open_beneath(parent->get(), final_path_, name,
                                     OpenRequest{access, Disposition::open, FILE_NON_DIRECTORY_FILE});
    if (!file) return file;
    const auto info = sys::file_info(*file);
    if (!info) return info.error();
    if (!info->is_regular()) return Error(Errc::permission);
    if (mode == WriteMode::truncate && info->size > 0)
        if (Status err = sys::truncate(*file, 0)) return err;
    if (checked) {
        *checked = *info;
        if (mode == WriteMode::truncate) checked->size = 0;
    }
    return file;
}

Result<File> Home::open_directory(std::string_view vpath) const {
    sys::off_reactor("Home::open_directory");
    return windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath),
                                 OpenRequest{FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES, Disposition::open,
                                             FILE_DIRECTORY_FILE});
}

Status Home::make_directory(std::string_view vpath) const {
    sys::off_reactor("Home::make_directory");
    if (is_root(vpath)) return Error(Errc::exists);
    std::string name;  // through the checked parent, as open_write
    auto parent = open_parent(vpath, name);
    if (!parent) return parent.error();
    auto folder = windows::open_beneath(parent->get(), final_path_, name,
                                        OpenRequest{FILE_LIST_DIRECTORY, Disposition::create, FILE_DIRECTORY_FILE});
    return folder ? Status{} : Status(folder.error());
}

Status Home::remove_directory(std::string_view vpath) const {
    sys::off_reactor("Home::remove_directory");
    if (is_root(vpath)) return Error(Errc::busy);
    auto folder = windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath),
                                        OpenRequest{DELETE | FILE_READ_ATTRIBUTES, Disposition::open, FILE_DIRECTORY_FILE});
    if (!folder) return folder.error();
    return mark_for_delete(folder->get());
}

Status Home::remove_file(std::string_view vpath) const {
    sys::off_reactor("Home::remove_file");
    if (is_root(vpath)) return Error(Errc::is_directory);
    auto file = windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath),
                                      OpenRequest{DELETE | FILE_READ_ATTRIBUTES, Disposition::open, FILE_NON_DIRECTORY_FILE});
    if (!file) return file.error();
    return mark_for_delete(file->get());
}

Status Home::rename(std::string_view from, std::string_view to) const {
    sys::off_reactor("Home::rename");
    if (is_root(from) || is_root(to)) return Error(Errc::busy);
    std::string to_name;
    auto to_dir = open_parent(to, to_name);
    if (!to_dir) return to_dir.error();
    auto source = windows::open_beneath(dir_.get(), final_path_, vpath_relative(from),
                                        OpenRequest{DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE, Disposition::open, 0});
    if (!source) return source.error();
    // A file may be replaced, a folder never.
    const auto target = stat(to);
    if (target && target->is_directory()) return Error(Errc::exists);
    return rename_beneath(source->get(), to_dir->get(), to_name, target.ok());
}

Status Home::set_mtime(std::string_view vpath, std::int64_t unix_seconds) const {
    sys::off_reactor("Home::set_mtime");
    auto file = windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath),
                                      OpenRequest{FILE_WRITE_ATTRIBUTES, Disposition::open, 0});
    if (!file) return file.error();
    const std::uint64_t ticks = sys::windows::filetime_of_unix_seconds(unix_seconds);
    FILETIME written{static_cast<DWORD>(ticks), static_cast<DWORD>(ticks >> 32)};
    return SetFileTime(file->get(), nullptr, nullptr, &written) ? Status{} : sys::windows::last_win32_error();
}

// Windows has no mode bits: the owner's write bit becomes the read-only attribute.
Status Home::set_mode(std::string_view vpath, std::uint32_t mode) const {
    sys::off_reactor("Home::set_mode");
    if (mode & ~std::uint32_t{0777}) return Error(Errc::invalid);
    if (is_root(vpath)) return Error(Errc::permission);
    auto file = windows::open_beneath(dir_.get(), final_path_, vpath_relative(vpath),
                                      OpenRequest{FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES, Disposition::open, 0});
    if (!file) return file.error();
    FILE_BASIC_INFO basic{};
    if (!GetFileInformationByHandleEx(file->get(), FileBasicInfo, &basic, sizeof basic)) return sys::windows::last_win32_error();
    if (mode & 0200) {
        basic.FileAttributes &= ~static_cast<DWORD>(FILE_ATTRIBUTE_READONLY);
    } else {
        basic.FileAttributes |= FILE_ATTRIBUTE_READONLY;
    }
    if (basic.FileAttributes == 0) basic.FileAttributes = FILE_ATTRIBUTE_NORMAL;
    return SetFileInformationByHandle(file->get(), FileBasicInfo, &basic, sizeof basic) ? Status{}
                                                                                         : sys::windows::last_win32_error();
}

}  // namespace ferry::fs
