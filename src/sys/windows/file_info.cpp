#include "sys/windows/file_info.hpp"

#include "sys/windows/wide.hpp"

#include <windows.h>

namespace ferry::sys::windows {

namespace {
constexpr std::int64_t filetime_of_1970 = 116444736000000000LL;  // 100 ns ticks from 1601 to 1970
}

std::int64_t unix_ns_of_filetime(std::uint64_t filetime) {
    return (static_cast<std::int64_t>(filetime) - filetime_of_1970) * 100;
}

std::uint64_t filetime_of_unix_seconds(std::int64_t seconds) {
    return static_cast<std::uint64_t>(seconds * 10'000'000LL + filetime_of_1970);
}

Result<FileInfo> info_of_handle(void* handle) {
    BY_HANDLE_FILE_INFORMATION by_handle{};
    if (!GetFileInformationByHandle(handle, &by_handle)) {
        // Pipes and consoles have no file information; say what they are.
        const DWORD kind = GetFileType(handle);
        if (kind == FILE_TYPE_CHAR || kind == FILE_TYPE_PIPE) {
            FileInfo info;
            info.type = kind == FILE_TYPE_CHAR ? FileType::char_device : FileType::fifo;
            return info;
        }
        return last_win32_error();
    }
    FileInfo info;
    const DWORD attributes = by_handle.dwFileAttributes;
    if (attributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        FILE_ATTRIBUTE_TAG_INFO tag{};
        const bool link = GetFileInformationByHandleEx(handle, FileAttributeTagInfo, &tag, sizeof tag) &&
                          (tag.ReparseTag == IO_REPARSE_TAG_SYMLINK || tag.ReparseTag == IO_REPARSE_TAG_MOUNT_POINT);
        info.type = link ? FileType::symlink : (attributes & FILE_ATTRIBUTE_DIRECTORY) ? FileType::directory : FileType::other;
    } else {
        info.type = (attributes & FILE_ATTRIBUTE_DIRECTORY) ? FileType::directory : FileType::regular;
    }
    info.size = (static_cast<std::uint64_t>(by_handle.nFileSizeHigh) << 32) | by_handle.nFileSizeLow;
    const std::uint64_t written = (static_cast<std::uint64_t>(by_handle.ftLastWriteTime.dwHighDateTime) << 32) |
                                  by_handle.ftLastWriteTime.dwLowDateTime;
    info.mtime_ns = unix_ns_of_filetime(written);
    info.mtime = info.mtime_ns >= 0 ? info.mtime_ns / 1'000'000'000 : -((-info.mtime_ns + 999'999'999) / 1'000'000'000);
    // No mode bits on Windows: what ferryd on Linux gives what it creates (0640 files, 0750
    // folders), the write bits taken away by the read-only attribute.
    const bool read_only = attributes & FILE_ATTRIBUTE_READONLY;
    info.permissions = info.is_directory() ? 0750u : read_only ? 0440u : 0640u;
    info.links = by_handle.nNumberOfLinks;
    info.id = FileId{by_handle.dwVolumeSerialNumber,
                     (static_cast<std::uint64_t>(by_handle.nFileIndexHigh) << 32) | by_handle.nFileIndexLow};
    return info;
}

}  // namespace ferry::sys::windows
