#include "client/digest_cache.hpp"

#include "base/log.hpp"
#include "client/digest.hpp"
#include "sys/atomic_file.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ferry::client {
namespace {

constexpr std::size_t max_entries = 500'000;  // ~50 MB of lines at most; past it, the oldest file wins nothing
constexpr std::int64_t racy_window_ns = 2'000'000'000;

std::string cache_path() {
    if (const char* chosen = std::getenv("FERRY_DIGEST_CACHE")) return chosen;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return cat(xdg, "/ferry/digests");
    if (const char* local = std::getenv("LOCALAPPDATA"); local && *local) return cat(local, "\\ferry\\digests");
    if (const char* home = std::getenv("HOME"); home && *home) return cat(home, "/.cache/ferry/digests");
    return "";
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool same_state(const sys::FileInfo& a, const sys::FileInfo& b) {
    return a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns && a.id == b.id;
}

}  // namespace

DigestCache::DigestCache() : path_(cache_path()) { load(); }

DigestCache::~DigestCache() {
    if (changed_) save();
}

// "algo device inode size mtime_ns ctime_ns hex" per line; a line that does not read is skipped.
void DigestCache::load() {
    if (path_.empty()) return;
    std::ifstream in(path_);
    std::string line;
    while (entries_.size() < max_entries && std::getline(in, line)) {
        std::istringstream words(line);
        int algo = 0;
        std::uint64_t device = 0, inode = 0;
        Entry entry{};
        if (words >> algo >> device >> inode >> entry.size >> entry.mtime_ns >> entry.ctime_ns >> entry.hex)
            entries_[{algo, device, inode}] = std::move(entry);
    }
}

void DigestCache::save() const {
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ignored);
    std::string text;
    for (const auto& [key, entry] : entries_)
        text += cat(std::get<0>(key), ' ', std::get<1>(key), ' ', std::get<2>(key), ' ', entry.size, ' ', entry.mtime_ns,
                    ' ', entry.ctime_ns, ' ', entry.hex, '\n');
    std::string error;
    (void)replace_file_atomically(path_, text, &error);
}

std::string DigestCache::digest(const std::string& path, DigestAlgo algo) {
    const auto before = sys::path_info(path);
    const bool cacheable = !path_.empty() && before && before->ctime_ns >= 0;
    const Key key{static_cast<int>(algo), before ? before->id.device : 0, before ? before->id.inode : 0};
    if (cacheable) {
        const auto found = entries_.find(key);
        if (found != entries_.end() && found->second.size == before->size && found->second.mtime_ns == before->mtime_ns &&
            found->second.ctime_ns == before->ctime_ns)
            return found->second.hex;
    }
    std::string hex = digest_file(path, algo, whole_file);
    const auto after = sys::path_info(path);
    const std::int64_t settled = now_ns() - racy_window_ns;
    if (cacheable && after && same_state(*before, *after) && before->mtime_ns < settled && before->ctime_ns < settled &&
        entries_.size() < max_entries) {
        entries_[key] = Entry{before->size, before->mtime_ns, before->ctime_ns, hex};
        changed_ = true;
    }
    return hex;
}

}  // namespace ferry::client
