// One open Home per user folder, shared by all sessions of that user (on any reactor thread).
// A Home is immutable once open, so sharing it is safe, and 10,000 sessions of one user then hold
// one directory descriptor instead of 10,000.
#pragma once
#include "base/result.hpp"
#include "fs/home.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ferry::fs {

class HomeRegistry {
public:
    explicit HomeRegistry(std::chrono::milliseconds folder_cache = {}) : folder_cache_(folder_cache) {}
    // The home `relative` beneath `root` (Home::open: created if missing, never through a link),
    // opened once while any session holds it, keeping folder handles for folder_cache.
    Result<std::shared_ptr<const Home>> open(const std::string& root, const std::string& relative);

private:
    const std::chrono::milliseconds folder_cache_;
    std::mutex mutex_;
    std::map<std::string, std::weak_ptr<const Home>> homes_;
    std::size_t opens_since_prune_ = 0;
};

}  // namespace ferry::fs
