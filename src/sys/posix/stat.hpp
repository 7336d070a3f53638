// struct stat -> FileInfo, for the POSIX and Linux backends only.
#pragma once
#include "sys/file.hpp"

#include <sys/stat.h>

namespace ferry::sys {

FileInfo info_from_stat(const struct stat& st);

}  // namespace ferry::sys
