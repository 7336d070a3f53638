// Ferry's own error conditions: what the code tells apart, whichever OS reported it.
//
// The platform layer maps its codes once (errno in sys/posix/error.cpp, Win32 and WSA codes in the
// Windows one) and keeps the native value for the log line; nothing above src/sys sees errno.
#pragma once
#include <cstdint>
#include <string>

namespace ferry {

enum class Errc : std::uint8_t {
    ok = 0,
    // names and files
    not_found,           // ENOENT
    exists,              // EEXIST
    not_directory,       // ENOTDIR
    is_directory,        // EISDIR
    not_empty,           // ENOTEMPTY
    permission,          // EACCES, EPERM
    outside,             // EXDEV: the path or rename would leave its folder (the home)
    too_many_links,      // ELOOP
    name_too_long,       // ENAMETOOLONG
    read_only,           // EROFS
    // space
    no_space,            // ENOSPC
    quota,               // EDQUOT
    too_large,           // EFBIG
    // calls
    invalid,             // EINVAL
    busy,                // EBUSY
    already,             // EALREADY
    would_block,         // EAGAIN, EWOULDBLOCK
    interrupted,         // EINTR
    in_progress,         // EINPROGRESS
    cancelled,           // ECANCELED
    unsupported,         // ENOSYS, EOPNOTSUPP, EAFNOSUPPORT
    no_memory,           // ENOMEM, ENOBUFS
    too_many_files,      // EMFILE, ENFILE
    bad_handle,          // EBADF
    io,                  // EIO
    // connections
    reset,               // ECONNRESET, ECONNABORTED
    broken_pipe,         // EPIPE
    not_connected,       // ENOTCONN
    timed_out,           // ETIMEDOUT
    refused,             // ECONNREFUSED
    unreachable,         // EHOSTUNREACH, ENETUNREACH
    address_in_use,      // EADDRINUSE
    address_unavailable, // EADDRNOTAVAIL
    protocol,            // EPROTO: TLS failed (OpenSSL's reason is logged)
    other,               // anything else; native() says what
};

class Error {
public:
    constexpr Error() = default;
    // `native` is the OS's own code (errno, GetLastError()) when there is one, for messages.
    constexpr Error(Errc code, int native = 0) : code_(code), native_(native) {}

    constexpr Errc code() const { return code_; }
    constexpr int native() const { return native_; }
    // True when this is an error: `if (const Error err = op()) return err;`.
    constexpr explicit operator bool() const { return code_ != Errc::ok; }
    constexpr bool operator==(Errc code) const { return code_ == code; }
    constexpr bool operator==(const Error& other) const { return code_ == other.code_; }

    // "No such file or directory": the OS's words when native() is set, else ours.
    std::string message() const;

private:
    Errc code_ = Errc::ok;
    int native_ = 0;
};

// Our words for a condition ("quota exceeded"), the same on every platform.
const char* describe(Errc code);

}  // namespace ferry
