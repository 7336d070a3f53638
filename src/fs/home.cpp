// The Home members that are the same on every platform: they only use the platform's own stat and
// the sys layer (fs/linux/home.cpp, fs/windows/home.cpp hold the rest).
#include "fs/home.hpp"

namespace ferry::fs {

bool Home::still_at(const std::string& directory) const {
    const auto named = sys::path_info(directory);
    const auto held = sys::file_info(dir_);
    return named && held && named->id == held->id;
}

bool Home::is_directory(std::string_view vpath) const {
    const auto info = stat(vpath);
    return info.ok() && info->is_directory();
}

}  // namespace ferry::fs
