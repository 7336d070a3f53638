// Private to src/*/windows: a FileInfo from an open handle (also for folders opened by fs/).
#pragma once
#include "base/result.hpp"
#include "sys/file.hpp"

#include <cstdint>

namespace ferry::sys::windows {

Result<FileInfo> info_of_handle(void* handle);
// FILETIME (100 ns since 1601) to Unix nanoseconds, and back.
std::int64_t unix_ns_of_filetime(std::uint64_t filetime);
std::uint64_t filetime_of_unix_seconds(std::int64_t seconds);

}  // namespace ferry::sys::windows
