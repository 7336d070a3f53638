#include "sys/windows/wide.hpp"

#include <windows.h>
#include <winternl.h>
#include <winsock2.h>

#ifndef ERROR_DISK_QUOTA_EXCEEDED
#define ERROR_DISK_QUOTA_EXCEEDED 1295L
#endif

namespace ferry::sys::windows {

std::optional<std::wstring> to_wide(std::string_view utf8) {
    if (utf8.empty()) return std::wstring();
    const int length = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(),
                                           static_cast<int>(utf8.size()), nullptr, 0);
    if (length <= 0) return std::nullopt;
    std::wstring wide(static_cast<std::size_t>(length), L'\0');
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()), wide.data(), length);
    return wide;
}

std::string to_utf8(std::wstring_view wide) {
    if (wide.empty()) return {};
    const int length = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0,
                                           nullptr, nullptr);
    std::string utf8(static_cast<std::size_t>(length > 0 ? length : 0), '\0');
    if (length > 0)
        WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), utf8.data(), length, nullptr, nullptr);
    return utf8;
}

std::wstring native_path(std::string_view utf8) {
    std::wstring wide = to_wide(utf8).value_or(std::wstring());
    for (wchar_t& c : wide)
        if (c == L'/') c = L'\\';
    return wide;
}

namespace {

struct Mapping {
    unsigned long number;
    Errc code;
};

constexpr Mapping mappings[] = {
    {ERROR_FILE_NOT_FOUND, Errc::not_found},        {ERROR_PATH_NOT_FOUND, Errc::not_found},
    {ERROR_INVALID_DRIVE, Errc::not_found},         {ERROR_BAD_NETPATH, Errc::not_found},
    {ERROR_ALREADY_EXISTS, Errc::exists},           {ERROR_FILE_EXISTS, Errc::exists},
    {ERROR_DIRECTORY, Errc::not_directory},         {ERROR_DIR_NOT_EMPTY, Errc::not_empty},
    {ERROR_ACCESS_DENIED, Errc::permission},        {ERROR_PRIVILEGE_NOT_HELD, Errc::permission},
    {ERROR_NOT_SAME_DEVICE, Errc::outside},         {ERROR_CANT_RESOLVE_FILENAME, Errc::too_many_links},
    {ERROR_FILENAME_EXCED_RANGE, Errc::name_too_long}, {ERROR_WRITE_PROTECT, Errc::read_only},
    {ERROR_DISK_FULL, Errc::no_space},              {ERROR_HANDLE_DISK_FULL, Errc::no_space},
    {ERROR_DISK_QUOTA_EXCEEDED, Errc::quota},       {ERROR_FILE_TOO_LARGE, Errc::too_large},
    {ERROR_INVALID_PARAMETER, Errc::invalid},       {ERROR_INVALID_NAME, Errc::invalid},
    {ERROR_BAD_PATHNAME, Errc::invalid},            {ERROR_NEGATIVE_SEEK, Errc::invalid},
    {ERROR_SHARING_VIOLATION, Errc::busy},          {ERROR_LOCK_VIOLATION, Errc::busy},
    {ERROR_BUSY, Errc::busy},                       {ERROR_DELETE_PENDING, Errc::not_found},
    {ERROR_IO_PENDING, Errc::in_progress},          {ERROR_OPERATION_ABORTED, Errc::cancelled},
    {ERROR_NOT_SUPPORTED, Errc::unsupported},       {ERROR_CALL_NOT_IMPLEMENTED, Errc::unsupported},
    {ERROR_NOT_ENOUGH_MEMORY, Errc::no_memory},     {ERROR_OUTOFMEMORY, Errc::no_memory},
    {ERROR_TOO_MANY_OPEN_FILES, Errc::too_many_files}, {ERROR_INVALID_HANDLE, Errc::bad_handle},
    {ERROR_CRC, Errc::io},                          {ERROR_GEN_FAILURE, Errc::io},
    {ERROR_NETNAME_DELETED, Errc::reset},           {ERROR_CONNECTION_ABORTED, Errc::reset},
    {ERROR_BROKEN_PIPE, Errc::broken_pipe},         {ERROR_NO_DATA, Errc::broken_pipe},
    {ERROR_CONNECTION_REFUSED, Errc::refused},      {ERROR_SEM_TIMEOUT, Errc::timed_out},
    {ERROR_NETWORK_UNREACHABLE, Errc::unreachable}, {ERROR_HOST_UNREACHABLE, Errc::unreachable},
    {WSAECONNRESET, Errc::reset},                   {WSAECONNABORTED, Errc::reset},
    {WSAEWOULDBLOCK, Errc::would_block},            {WSAEINPROGRESS, Errc::in_progress},
    {WSAEALREADY, Errc::already},                   {WSAENOTCONN, Errc::not_connected},
    {WSAESHUTDOWN, Errc::broken_pipe},              {WSAETIMEDOUT, Errc::timed_out},
    {WSAECONNREFUSED, Errc::refused},               {WSAEHOSTUNREACH, Errc::unreachable},
    {WSAENETUNREACH, Errc::unreachable},            {WSAEADDRINUSE, Errc::address_in_use},
    {WSAEADDRNOTAVAIL, Errc::address_unavailable},  {WSAEMFILE, Errc::too_many_files},
    {WSAENOBUFS, Errc::no_memory},                  {WSAEINVAL, Errc::invalid},
    {WSAEACCES, Errc::permission},                  {WSAEAFNOSUPPORT, Errc::unsupported},
    {WSAEOPNOTSUPP, Errc::unsupported},             {WSAEINTR, Errc::interrupted},
    {WSAENOTSOCK, Errc::bad_handle},                {WSAEBADF, Errc::bad_handle},
};

}  // namespace

Error from_win32(unsigned long code) {
    if (code == 0) return {};
    for (const Mapping& m : mappings)
        if (m.number == code) return Error(m.code, static_cast<int>(code));
    return Error(Errc::other, static_cast<int>(code));
}

Error last_win32_error() { return from_win32(GetLastError()); }
Error last_socket_error() { return from_win32(static_cast<unsigned long>(WSAGetLastError())); }

Error from_ntstatus(long status) {
    // Our own codes for what the jail refuses, before Win32's translation blurs them.
    switch (static_cast<unsigned long>(status)) {
        case 0xC0000033UL:  // STATUS_OBJECT_NAME_INVALID: ".." or an absolute name below RootDirectory
        case 0xC000003AUL:  // STATUS_OBJECT_PATH_NOT_FOUND with an absolute name
            break;
        case 0xC0000056UL: return Error(Errc::not_found, ERROR_DELETE_PENDING);  // STATUS_DELETE_PENDING
        default: break;
    }
    return from_win32(RtlNtStatusToDosError(status));
}

}  // namespace ferry::sys::windows
