// The Home members that are the same on every platform: they only use the platform's own stat and
// the sys layer (fs/linux/home.cpp, fs/windows/home.cpp hold the rest).
#include "fs/home.hpp"
#include "sys/reactor_thread.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace ferry::fs {

void Home::keep_folders(std::chrono::milliseconds ttl) {
    folders_ = ttl.count() > 0 ? std::make_unique<FolderCache>(ttl) : nullptr;
}

bool Home::still_at(const std::string& directory) const {
    const auto named = sys::path_info(directory);
    const auto held = sys::file_info(dir_);
    return named && held && named->id == held->id;
}

Result<unsigned> Home::folder_height(std::string_view vpath, unsigned limit) const {
    sys::off_reactor("Home::folder_height");
    // The folder is read to its end before its subfolders are: one level's descriptors at a time.
    std::vector<std::string> subfolders;
    {
        auto reader = read_folder(vpath);
        if (!reader) return reader.error();
        for (;;) {
            auto entries = reader->next(256);
            if (!entries) return entries.error();
            if (entries->empty()) break;
            for (const auto& entry : *entries) {
                const std::string child = vpath == "/" ? "/" + entry.name : std::string(vpath) + "/" + entry.name;
                const auto own = entry.info.is_directory() ? lstat(child) : Result<FileInfo>(Errc::not_found);
                if (own && own->is_directory()) subfolders.push_back(child);
            }
        }
    }
    unsigned height = 0;
    for (const auto& child : subfolders) {
        if (limit == 0) return 1u;  // deeper than asked: that is all the caller needs to know
        auto below = folder_height(child, limit - 1);
        if (!below) {
            if (below.error() == Errc::not_found) continue;  // gone meanwhile
            return below.error();
        }
        height = std::max(height, *below + 1);
        if (height > limit) break;
    }
    return height;
}

bool Home::is_directory(std::string_view vpath) const {
    const auto info = stat(vpath);
    return info.ok() && info->is_directory();
}

}  // namespace ferry::fs
