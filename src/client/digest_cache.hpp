// Digests of local files computed before, so that a sync of an unchanged tree reads no file. An
// entry holds for a file while its device, inode, size, mtime and ctime (ns) are the same: ctime
// cannot be set back by a program (setting the mtime back sets ctime to now), so a file rewritten
// with its old size and time is still hashed again, as git trusts its index. Files changed within
// the last two seconds are not remembered (a second change could fall in the same clock tick).
// Where ctime is not known (Windows) nothing is remembered. Kept in $XDG_CACHE_HOME/ferry/digests
// (else ~/.cache/ferry/digests), or where FERRY_DIGEST_CACHE says ("" turns it off).
#pragma once
#include "client/options.hpp"
#include "sys/file.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace ferry::client {

class DigestCache {
public:
    // Loads the cache file; a missing or unreadable one is an empty cache.
    DigestCache();
    // Writes it back when something was added (errors ignored: it is only a cache).
    ~DigestCache();
    DigestCache(const DigestCache&) = delete;
    DigestCache& operator=(const DigestCache&) = delete;

    // The file's whole-file digest: remembered, or read (throws ClientError as digest_file does).
    std::string digest(const std::string& path, DigestAlgo algo);

private:
    using Key = std::tuple<int, std::uint64_t, std::uint64_t>;  // algo, device, inode
    struct Entry {
        std::uint64_t size;
        std::int64_t mtime_ns;
        std::int64_t ctime_ns;
        std::string hex;
    };
    void load();
    void save() const;

    std::string path_;  // "" = off
    std::map<Key, Entry> entries_;
    bool changed_ = false;
};

}  // namespace ferry::client
