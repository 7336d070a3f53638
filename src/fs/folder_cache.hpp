// Handles of a home's folders used lately, by virtual path. A name in a nested folder is then
// resolved from its folder's handle (one lookup) instead of from the home's (one lookup per
// component): on network storage mounted without a lookup cache (NFS with actimeo=0 or
// lookupcache=none, some FUSE file systems) each lookup is a round trip, and a client waits for
// them in series.
//
// What a kept handle means: the folder that had that path when it was opened. The Home forgets a
// folder, and everything beneath it, when it renames or removes one itself (so the sessions of this
// node always agree with it); a change made elsewhere (another node, a shell on the host) is seen
// when the entry expires, after `ttl`: far shorter than the attribute cache NFS keeps by default
// (acdirmin, 30 s). A handle still resolves beneath itself only, so an expired view can misplace a
// name inside the home at worst, as a process's working folder does after a rename.
#pragma once
#include "sys/file.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::fs {

class FolderCache {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t capacity = 64;  // folders per home: what a few busy sessions use

    explicit FolderCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

    // The handle kept for the folder `vpath`, or null (none, or expired).
    std::shared_ptr<const File> find(std::string_view vpath);
    // Keeps `handle` for the folder `vpath`; the oldest entry makes room when full.
    void keep(std::string_view vpath, std::shared_ptr<const File> handle);
    // Forgets the folder `vpath` and every folder beneath it (a rename or removal of it).
    void forget_beneath(std::string_view vpath);

private:
    struct Entry {
        std::string vpath;
        std::shared_ptr<const File> handle;
        Clock::time_point until;
    };
    const std::chrono::milliseconds ttl_;
    std::mutex mutex_;
    std::vector<Entry> entries_;  // at most `capacity`: a linear scan is cheaper than a map's nodes
};

}  // namespace ferry::fs
