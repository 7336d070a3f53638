#include "sys/posix/errno.hpp"

#include <cerrno>
#include <cstring>

namespace ferry {
namespace {

struct Mapping {
    int number;
    Errc code;
};

constexpr Mapping mappings[] = {
    {ENOENT, Errc::not_found},      {EEXIST, Errc::exists},          {ENOTDIR, Errc::not_directory},
    {EISDIR, Errc::is_directory},   {ENOTEMPTY, Errc::not_empty},    {EACCES, Errc::permission},
    {EPERM, Errc::permission},      {EXDEV, Errc::outside},          {ELOOP, Errc::too_many_links},
    {ENAMETOOLONG, Errc::name_too_long}, {EROFS, Errc::read_only},   {ENOSPC, Errc::no_space},
    {EDQUOT, Errc::quota},          {EFBIG, Errc::too_large},        {EINVAL, Errc::invalid},
    {EBUSY, Errc::busy},            {EALREADY, Errc::already},       {EAGAIN, Errc::would_block},
    {EWOULDBLOCK, Errc::would_block}, {EINTR, Errc::interrupted},    {EINPROGRESS, Errc::in_progress},
    {ECANCELED, Errc::cancelled},   {ENOSYS, Errc::unsupported},     {EOPNOTSUPP, Errc::unsupported},
    {EAFNOSUPPORT, Errc::unsupported}, {ENOMEM, Errc::no_memory},    {ENOBUFS, Errc::no_memory},
    {EMFILE, Errc::too_many_files}, {ENFILE, Errc::too_many_files},  {EBADF, Errc::bad_handle},
    {EIO, Errc::io},                {ECONNRESET, Errc::reset},       {ECONNABORTED, Errc::reset},
    {EPIPE, Errc::broken_pipe},     {ENOTCONN, Errc::not_connected}, {ETIMEDOUT, Errc::timed_out},
    {ECONNREFUSED, Errc::refused},  {EHOSTUNREACH, Errc::unreachable}, {ENETUNREACH, Errc::unreachable},
    {EADDRINUSE, Errc::address_in_use}, {EADDRNOTAVAIL, Errc::address_unavailable},
    {EPROTO, Errc::protocol},
};

}  // namespace

std::string Error::message() const {
    if (native_ != 0) return std::strerror(native_);
    return describe(code_);
}

namespace sys {

Error from_errno(int err) {
    if (err == 0) return {};
    for (const Mapping& m : mappings)
        if (m.number == err) return Error(m.code, err);
    return Error(Errc::other, err);
}

Error last_error() { return from_errno(errno); }

int to_errno(const Error& err) {
    if (err.native() != 0) return err.native();
    for (const Mapping& m : mappings)
        if (m.code == err.code()) return m.number;
    return err ? EIO : 0;
}

}  // namespace sys
}  // namespace ferry
