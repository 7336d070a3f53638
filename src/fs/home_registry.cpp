#include "fs/home_registry.hpp"

namespace ferry::fs {

Result<std::shared_ptr<const Home>> HomeRegistry::open(const std::string& root, const std::string& relative) {
    const std::string directory = root + "/" + relative;
    std::lock_guard lock(mutex_);
    // A home that was moved away (its account deleted, a new one of that name since) is not the
    // folder at `directory` any more: the new account gets the new folder, never the old files.
    if (auto existing = homes_[directory].lock(); existing && existing->still_at(directory)) return existing;
    auto home = Home::open(root, relative, true);
    if (!home) return Result<std::shared_ptr<const Home>>::failure(home.error());
    home->keep_folders(folder_cache_);
    auto shared = std::make_shared<const Home>(std::move(*home));
    homes_[directory] = shared;
    // Forget the homes no session holds any more, now and then, so the map stays small.
    if (++opens_since_prune_ >= 256) {
        opens_since_prune_ = 0;
        std::erase_if(homes_, [](const auto& entry) { return entry.second.expired(); });
    }
    return shared;
}

}  // namespace ferry::fs
