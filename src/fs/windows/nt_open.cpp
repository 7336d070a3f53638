#include "fs/windows/nt_open.hpp"

#include "sys/windows/wide.hpp"

#include <winternl.h>

#include <cwctype>

#ifndef FILE_OPEN_REPARSE_POINT
#define FILE_OPEN_REPARSE_POINT 0x00200000
#endif
#ifndef FILE_SYNCHRONOUS_IO_NONALERT
#define FILE_SYNCHRONOUS_IO_NONALERT 0x00000020
#endif
#ifndef OBJ_CASE_INSENSITIVE
#define OBJ_CASE_INSENSITIVE 0x00000040L
#endif

namespace ferry::fs::windows {
namespace {

bool reserved_device(std::string_view name) {
    // CON, PRN, AUX, NUL, COM0-9, LPT0-9, with any extension ("nul.txt" is the device too), and
    // CONIN$/CONOUT$; compared without case.
    const std::string_view stem = name.substr(0, name.find('.'));
    std::string upper;
    for (char c : stem) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    if (upper == "CON" || upper == "PRN" || upper == "AUX" || upper == "NUL" || upper == "CONIN$" || upper == "CONOUT$")
        return true;
    return upper.size() == 4 && (upper.starts_with("COM") || upper.starts_with("LPT")) && upper[3] >= '0' && upper[3] <= '9';
}

bool inside(const std::wstring& path, const std::wstring& root) {
    if (path.size() < root.size()) return false;
    for (std::size_t i = 0; i < root.size(); ++i)
        if (std::towlower(path[i]) != std::towlower(root[i])) return false;
    return path.size() == root.size() || path[root.size()] == L'\\' || (!root.empty() && root.back() == L'\\');
}

}  // namespace

bool safe_component(std::string_view name) {
    if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
    for (unsigned char c : name)
        if (c < 0x20 || c == '\\' || c == '/' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|')
            return false;
    if (name.back() == '.' || name.back() == ' ') return false;
    return !reserved_device(name);
}

std::wstring final_path_of(HANDLE handle) {
    std::wstring path(512, L'\0');
    for (int attempt = 0; attempt < 2; ++attempt) {
        const DWORD length = GetFinalPathNameByHandleW(handle, path.data(), static_cast<DWORD>(path.size()), FILE_NAME_NORMALIZED);
        if (length == 0) return {};
        if (length < path.size()) {
            path.resize(length);
            return path;
        }
        path.resize(length + 1);
    }
    return {};
}

bool is_reparse_point(HANDLE handle) {
    FILE_ATTRIBUTE_TAG_INFO tag{};
    return GetFileInformationByHandleEx(handle, FileAttributeTagInfo, &tag, sizeof tag) &&
           (tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
           (tag.ReparseTag == IO_REPARSE_TAG_SYMLINK || tag.ReparseTag == IO_REPARSE_TAG_MOUNT_POINT);
}

Result<File> open_beneath(HANDLE root, const std::wstring& root_final, std::string_view relative, OpenRequest request) {
    std::string checked;
    if (relative != "." && !relative.empty()) {
        std::size_t start = 0;
        while (start <= relative.size()) {
            const std::size_t slash = relative.find('/', start);
            const std::string_view part = relative.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
            if (part == "..") return Error(Errc::outside);
            // A name Windows cannot hold safely: nothing by that name can exist (550 for RETR,
            // CWD, DELE), and none may be made (553 for STOR, MKD).
            if (!safe_component(part))
                return Error(request.disposition == Disposition::open ? Errc::not_found : Errc::invalid);
            if (!checked.empty()) checked += '\\';
            checked += part;
            if (slash == std::string_view::npos) break;
            start = slash + 1;
        }
    }
    const auto wide = sys::windows::to_wide(checked);
    if (!wide) return Error(Errc::invalid);  // not UTF-8: refused, never "repaired" into another name
    UNICODE_STRING name{};
    name.Buffer = const_cast<wchar_t*>(wide->c_str());
    name.Length = static_cast<USHORT>(wide->size() * sizeof(wchar_t));
    name.MaximumLength = name.Length;
    OBJECT_ATTRIBUTES attributes{};
    InitializeObjectAttributes(&attributes, &name, OBJ_CASE_INSENSITIVE, root, nullptr);
    IO_STATUS_BLOCK status{};
    HANDLE handle = nullptr;
    const NTSTATUS result =
        NtCreateFile(&handle, request.access | SYNCHRONIZE, &attributes, &status, nullptr, FILE_ATTRIBUTE_NORMAL,
                     FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, static_cast<ULONG>(request.disposition),
                     request.options | FILE_SYNCHRONOUS_IO_NONALERT | FILE_OPEN_REPARSE_POINT | FILE_OPEN_FOR_BACKUP_INTENT,
                     nullptr, 0);
    if (result < 0) {
        if (static_cast<unsigned long>(result) == 0xC00000BAUL) return Error(Errc::is_directory);   // STATUS_FILE_IS_A_DIRECTORY
        if (static_cast<unsigned long>(result) == 0xC0000103UL) return Error(Errc::not_directory);  // STATUS_NOT_A_DIRECTORY
        if (static_cast<unsigned long>(result) == 0xC0000035UL) return Error(Errc::exists);         // STATUS_OBJECT_NAME_COLLISION
        return sys::windows::from_ntstatus(result);
    }
    File file(handle);
    // A link planted in the home, or one wine followed on its own: what was opened must be inside.
    if (is_reparse_point(handle)) return Error(Errc::outside);
    const std::wstring final_path = final_path_of(handle);
    if (final_path.empty() || !inside(final_path, root_final)) return Error(Errc::outside);
    return file;
}

}  // namespace ferry::fs::windows
