#include "sys/error.hpp"

namespace ferry {

const char* describe(Errc code) {
    switch (code) {
        case Errc::ok: return "success";
        case Errc::not_found: return "no such file or folder";
        case Errc::exists: return "already exists";
        case Errc::not_directory: return "not a folder";
        case Errc::is_directory: return "is a folder";
        case Errc::not_empty: return "folder not empty";
        case Errc::permission: return "permission denied";
        case Errc::outside: return "outside the home";
        case Errc::too_many_links: return "too many levels of links";
        case Errc::name_too_long: return "name too long";
        case Errc::read_only: return "read-only file system";
        case Errc::no_space: return "no space left on device";
        case Errc::quota: return "quota exceeded";
        case Errc::too_large: return "file too large";
        case Errc::invalid: return "invalid argument";
        case Errc::busy: return "busy";
        case Errc::already: return "already in progress";
        case Errc::would_block: return "would block";
        case Errc::interrupted: return "interrupted";
        case Errc::in_progress: return "in progress";
        case Errc::cancelled: return "cancelled";
        case Errc::unsupported: return "not supported";
        case Errc::no_memory: return "out of memory";
        case Errc::too_many_files: return "too many open files";
        case Errc::bad_handle: return "bad handle";
        case Errc::io: return "input/output error";
        case Errc::reset: return "connection reset";
        case Errc::broken_pipe: return "broken pipe";
        case Errc::not_connected: return "not connected";
        case Errc::timed_out: return "timed out";
        case Errc::refused: return "connection refused";
        case Errc::unreachable: return "unreachable";
        case Errc::address_in_use: return "address in use";
        case Errc::address_unavailable: return "address not available";
        case Errc::protocol: return "TLS protocol error";
        case Errc::other: return "error";
    }
    return "error";
}

}  // namespace ferry
