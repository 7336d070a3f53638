#include "proto/place.hpp"

#include "base/log.hpp"

namespace ferry::proto {

Result<std::shared_ptr<const fs::Home>> OpenFolders::open(const std::string& folder) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = open_.find(folder); it != open_.end()) return it->second;
    }
    auto opened = registry_.open(shared_root_, folder);
    if (!opened) return opened;
    std::lock_guard lock(mutex_);
    return open_.try_emplace(folder, *opened).first->second;
}

std::string Place::outer(const std::string& inner) const {
    if (!in_folder()) return inner;
    return inner == "/" ? mount : mount + inner;
}

std::string Place::real_path() const {
    if (!in_folder()) return home->path() + path;
    return folders->shared_root() + "/" + folder + (path == "/" ? "" : path);
}

Result<std::shared_ptr<const fs::Home>> Place::open() const {
    if (!in_folder()) return home;
    auto opened = folders->open(folder);
    if (!opened) {
        log::error(cat("shared folder ", folder, ": cannot open ", folders->shared_root(), "/", folder, ": ",
                       opened.error().message()));
        return opened.error();
    }
    // The folder's usage, as a home's at login: before anything is written into it.
    if (const Status err = quota->ensure_measured(**opened)) {
        log::error(cat("shared folder ", folder, ": cannot measure its usage: ", err.message()));
        return err;
    }
    return opened;
}

}  // namespace ferry::proto
