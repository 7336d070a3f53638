// sys/file.hpp on Windows: HANDLEs from CreateFileW, positioned I/O through an OVERLAPPED offset
// on synchronous handles (no shared file pointer, so threads may read one handle at once).
#include "sys/file.hpp"
#include "sys/reactor_thread.hpp"

#include "sys/windows/file_info.hpp"
#include "sys/windows/wide.hpp"

#include <windows.h>

namespace ferry::sys {

using windows::last_win32_error;

std::FILE* open_log_file(const std::string& path) {
    // "N": not inherited by child processes (O_CLOEXEC's counterpart).
    return ::_wfopen(windows::native_path(path).c_str(), L"abN");
}

Result<File> open_file(const std::string& path, OpenMode mode) {
    const DWORD access = mode == OpenMode::read ? GENERIC_READ : mode == OpenMode::scratch ? GENERIC_READ | GENERIC_WRITE : GENERIC_WRITE;
    const DWORD disposition = mode == OpenMode::read ? OPEN_EXISTING : mode == OpenMode::write ? OPEN_ALWAYS : CREATE_ALWAYS;
    File file(CreateFileW(windows::native_path(path).c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                          nullptr, disposition, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN, nullptr));
    if (!file) return last_win32_error();
    return file;
}

Result<FileInfo> file_info(const File& file) {
    off_reactor("file_info");
    return windows::info_of_handle(file.get());
}

Result<FileInfo> path_info(const std::string& path) {
    // Zero access with backup semantics opens folders too; links are followed, as stat() does.
    File file(CreateFileW(windows::native_path(path).c_str(), FILE_READ_ATTRIBUTES,
                          FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                          FILE_FLAG_BACKUP_SEMANTICS, nullptr));
    if (!file) return last_win32_error();
    return file_info(file);
}

namespace {

OVERLAPPED at_offset(std::uint64_t offset) {
    OVERLAPPED position{};
    position.Offset = static_cast<DWORD>(offset);
    position.OffsetHigh = static_cast<DWORD>(offset >> 32);
    return position;
}

constexpr std::size_t max_io = 1u << 30;  // DWORD lengths; a GiB per call is plenty

}  // namespace

Result<std::size_t> read_at(const File& file, std::span<char> buffer, std::uint64_t offset) {
    off_reactor("read_at");
    OVERLAPPED position = at_offset(offset);
    DWORD got = 0;
    const DWORD want = static_cast<DWORD>(buffer.size() < max_io ? buffer.size() : max_io);
    if (!ReadFile(file.get(), buffer.data(), want, &got, &position)) {
        if (GetLastError() == ERROR_HANDLE_EOF) return std::size_t{0};
        return last_win32_error();
    }
    return static_cast<std::size_t>(got);
}

Status write_all_at(const File& file, std::span<const char> data, std::uint64_t at, std::uint64_t& done) {
    off_reactor("write_all_at");
    return write_received_at(file, data, at, done);
}

// Windows cannot ask whether a read would wait: every read goes to the I/O pool.
Result<std::size_t> read_cached_at(const File&, std::span<char>, std::uint64_t) { return Error(Errc::would_block); }

Status write_received_at(const File& file, std::span<const char> data, std::uint64_t at, std::uint64_t& done) {
    while (!data.empty()) {
        OVERLAPPED position = at_offset(at);
        DWORD wrote = 0;
        const DWORD want = static_cast<DWORD>(data.size() < max_io ? data.size() : max_io);
        if (!WriteFile(file.get(), data.data(), want, &wrote, &position)) return last_win32_error();
        if (wrote == 0) return Error(Errc::io);
        done += wrote;
        at += wrote;
        data = data.subspan(wrote);
    }
    return {};
}

Status close(File& file) {
    off_reactor("close");
    const HANDLE handle = file.release();
    if (handle == INVALID_HANDLE_VALUE || handle == nullptr) return {};
    return CloseHandle(handle) ? Status{} : last_win32_error();
}

Status truncate(const File& file, std::uint64_t size) {
    off_reactor("truncate");
    FILE_END_OF_FILE_INFO end{};
    end.EndOfFile.QuadPart = static_cast<LONGLONG>(size);
    return SetFileInformationByHandle(file.get(), FileEndOfFileInfo, &end, sizeof end) ? Status{} : last_win32_error();
}

// Read-ahead is the FILE_FLAG_SEQUENTIAL_SCAN the file was opened with; nothing to add per range.
void advise_sequential(const File&, std::uint64_t, std::uint64_t) {}

// Digests are kept in extended attributes on Linux. NTFS alternate data streams would do on
// Windows but cannot be opened from a handle alone under wine, so kept digests are Linux-only:
// HASH computes (and caches in memory) as it does on a file system without xattrs.
Result<std::string> get_attribute(const File&, const std::string&) { return Error(Errc::unsupported); }
Status set_attribute(const File&, const std::string&, std::string_view) { return Error(Errc::unsupported); }
Status remove_attribute(const File&, const std::string&) { return Error(Errc::unsupported); }
Result<std::string> attribute_names(const File&) { return Error(Errc::unsupported); }

Result<std::uint64_t> free_space(const File& file) {
    off_reactor("free_space");
    wchar_t path[MAX_PATH + 64];
    const DWORD length = GetFinalPathNameByHandleW(file.get(), path, MAX_PATH + 64, FILE_NAME_NORMALIZED);
    if (length == 0 || length >= MAX_PATH + 64) return last_win32_error();
    ULARGE_INTEGER available{};
    if (!GetDiskFreeSpaceExW(path, &available, nullptr, nullptr)) return last_win32_error();
    return static_cast<std::uint64_t>(available.QuadPart);
}

}  // namespace ferry::sys
