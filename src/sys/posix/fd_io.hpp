// Descriptor I/O loops shared by the POSIX and Linux backends (errno-valued, as their callers are).
#pragma once
#include <cstdint>
#include <span>

namespace ferry::sys {

// pwrite all of `data` at `at`; a short write is retried so that its error (ENOSPC, EDQUOT, ...)
// surfaces, EINTR is retried. `done` grows by what reached the file, also on failure. 0 or an errno.
int pwrite_all(int fd, std::span<const char> data, std::uint64_t at, std::uint64_t& done);

// write all of `data` at the descriptor's position (a pipe, a terminal, a fresh file): the same
// retries, and a write of nothing is EIO instead of a loop. 0 or an errno.
int write_all(int fd, std::span<const char> data);

}  // namespace ferry::sys
