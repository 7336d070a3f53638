// Private to src/fs/linux: the single place that resolves a path beneath a directory fd (openat2).
#pragma once
#include "base/result.hpp"
#include "sys/handle.hpp"

#include <string>
#include <string_view>
#include <sys/types.h>

namespace ferry::fs::detail {

// openat2(dir_fd, relpath, {flags | O_CLOEXEC, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS}).
// ".." above dir_fd, absolute paths and symlinks that leave it fail with Errc::outside (EXDEV).
// Links::none adds RESOLVE_NO_SYMLINKS: any symlink on the way fails (ELOOP). EINTR/EAGAIN retried.
enum class Links { inside, none };
Result<File> open_beneath(int dir_fd, const std::string& relpath, int flags, mode_t mode = 0,
                          Links links = Links::inside);

// "a/b" + "c" -> "a/b/c"; "." + "c" -> "c".
std::string join_relative(std::string_view dir_rel, std::string_view name);

}  // namespace ferry::fs::detail
