#include "fs/folder_cache.hpp"

#include <algorithm>

namespace ferry::fs {

namespace {

// "/a/b" is beneath "/a" (and is "/a" itself); "/ab" is not.
bool beneath(std::string_view vpath, std::string_view folder) {
    if (folder == "/") return true;
    return vpath.starts_with(folder) && (vpath.size() == folder.size() || vpath[folder.size()] == '/');
}

}  // namespace

std::shared_ptr<const File> FolderCache::find(std::string_view vpath) {
    const auto now = Clock::now();
    const std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->vpath != vpath) continue;
        if (it->until > now) return it->handle;
        entries_.erase(it);
        return nullptr;
    }
    return nullptr;
}

void FolderCache::keep(std::string_view vpath, std::shared_ptr<const File> handle) {
    const auto until = Clock::now() + ttl_;
    const std::lock_guard lock(mutex_);
    auto same = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.vpath == vpath; });
    if (same != entries_.end()) {
        *same = Entry{std::string(vpath), std::move(handle), until};
        return;
    }
    if (entries_.size() >= capacity) {
        entries_.erase(std::min_element(entries_.begin(), entries_.end(),
                                        [](const Entry& a, const Entry& b) { return a.until < b.until; }));
    }
    entries_.push_back(Entry{std::string(vpath), std::move(handle), until});
}

void FolderCache::forget_beneath(std::string_view vpath) {
    const std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const Entry& e) { return beneath(e.vpath, vpath); });
}

}  // namespace ferry::fs
