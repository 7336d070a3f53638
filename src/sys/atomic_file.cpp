// The platform-free part of sys/atomic_file.hpp.
#include "sys/atomic_file.hpp"

#include "sys/file.hpp"

namespace ferry {

FileStamp stamp_of(const std::string& path) {
    const auto info = sys::path_info(path);
    if (!info) return FileStamp{};
    return FileStamp{info->id.inode, static_cast<std::int64_t>(info->size), info->mtime_ns};
}

}  // namespace ferry
