#include "sys/posix/fd_io.hpp"

#include <cerrno>
#include <unistd.h>

namespace ferry::sys {

int pwrite_all(int fd, std::span<const char> data, std::uint64_t at, std::uint64_t& done) {
    while (!data.empty()) {
        const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(at));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;
        done += static_cast<std::uint64_t>(n);
        at += static_cast<std::uint64_t>(n);
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return 0;
}

int write_all(int fd, std::span<const char> data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return 0;
}

}  // namespace ferry::sys
