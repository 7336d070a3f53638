// Errors in unit tests: the tests run on POSIX and compare what failed with errno values (EXDEV,
// ENOENT, 0 for success), which reads closest to the system calls they exercise. Only here:
// src/ compares Errc values.
#pragma once
#include "sys/error.hpp"
#if defined(_WIN32)
#include <cerrno>
#else
#include "sys/posix/errno.hpp"
#endif

#include <doctest/doctest.h>

#include <string>

namespace ferry {

#if defined(_WIN32)
// The Windows build reports Win32 codes; the tests' errno names map through our own conditions.
inline int errno_of(const Error& error) {
    switch (error.code()) {
        case Errc::ok: return 0;
        case Errc::not_found: return ENOENT;
        case Errc::exists: return EEXIST;
        case Errc::not_directory: return ENOTDIR;
        case Errc::is_directory: return EISDIR;
        case Errc::not_empty: return ENOTEMPTY;
        case Errc::permission: return EACCES;
        case Errc::outside: return EXDEV;
        case Errc::too_many_links: return ELOOP;
        case Errc::name_too_long: return ENAMETOOLONG;
        case Errc::read_only: return EROFS;
        case Errc::no_space: return ENOSPC;
        case Errc::too_large: return EFBIG;
        case Errc::invalid: return EINVAL;
        case Errc::busy: return EBUSY;
        case Errc::already: return EALREADY;
        case Errc::would_block: return EAGAIN;
        case Errc::interrupted: return EINTR;
        case Errc::in_progress: return EINPROGRESS;
        case Errc::cancelled: return ECANCELED;
        case Errc::unsupported: return ENOSYS;
        case Errc::no_memory: return ENOMEM;
        case Errc::too_many_files: return EMFILE;
        case Errc::bad_handle: return EBADF;
        case Errc::io: return EIO;
        case Errc::reset: return ECONNRESET;
        case Errc::broken_pipe: return EPIPE;
        case Errc::not_connected: return ENOTCONN;
        case Errc::timed_out: return ETIMEDOUT;
        case Errc::refused: return ECONNREFUSED;
        case Errc::unreachable: return EHOSTUNREACH;
        case Errc::address_in_use: return EADDRINUSE;
        case Errc::address_unavailable: return EADDRNOTAVAIL;
        case Errc::protocol: return EPROTO;
        default: return -1;
    }
}
inline bool operator==(const Error& error, int errno_value) { return errno_of(error) == errno_value; }
#else
inline bool operator==(const Error& error, int errno_value) { return sys::to_errno(error) == errno_value; }
#endif

}  // namespace ferry

namespace doctest {
template <>
struct StringMaker<ferry::Error> {
    static String convert(const ferry::Error& error) {
        return error ? String(("Error(" + error.message() + ")").c_str()) : String("ok");
    }
};
}  // namespace doctest
