// Where a virtual path lands: the account's home, or a shared folder mounted in its tree
// (auth::EffectivePolicy::mounts). Session::place() routes on the reactor, by the mount points'
// strings alone; the folder itself is opened (beneath shared_root, never through a link, exactly as
// a home) by open(), on the I/O pool, the first time a request needs it. Every file request works
// on place.path inside place.open()'s Home, so no path, "..", link or rename crosses from one tree
// into another: each is resolved beneath its own folder's handle.
#pragma once
#include "base/result.hpp"
#include "fs/home.hpp"
#include "fs/home_registry.hpp"
#include "fs/quota.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ferry::proto {

// The shared folders one session has opened, kept while it lives: a folder is opened once per
// session (and once for all sessions while any holds it: fs::HomeRegistry), not once per request.
class OpenFolders {
public:
    OpenFolders(fs::HomeRegistry& registry, std::string shared_root)
        : registry_(registry), shared_root_(std::move(shared_root)) {}
    // Blocks on the first open of `folder`: I/O pool only.
    Result<std::shared_ptr<const fs::Home>> open(const std::string& folder);
    const std::string& shared_root() const { return shared_root_; }

private:
    fs::HomeRegistry& registry_;
    const std::string shared_root_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<const fs::Home>, std::less<>> open_;
};

struct Place {
    std::shared_ptr<const fs::Home> home;  // the account's home; empty for a folder until open()
    std::shared_ptr<fs::UserQuota> quota;  // the home's, or the folder's (shared by all who write there)
    std::string path;                      // inside that home or folder: "/" at a mount point
    std::string folder;                    // the shared folder's name; "" for the home
    std::string mount;                     // its mount point in the account's tree; "" for the home
    std::shared_ptr<OpenFolders> folders;  // where a folder is opened (folder only)

    bool in_folder() const { return !folder.empty(); }
    // The mount point itself: it cannot be removed, renamed or made.
    bool is_mount_point() const { return in_folder() && path == "/"; }
    // Both in the home, or both in the same folder: a rename may go from one to the other.
    bool same_tree(const Place& other) const { return folder == other.folder; }
    // `inner` (a path inside this place) as the account sees it: "/x" in folder at /team -> "/team/x".
    std::string outer(const std::string& inner) const;
    // Where it is on disk, for the transfer log.
    std::string real_path() const;
    // The home, or the folder opened (created if missing) with its usage measured the first time.
    // Blocks: I/O pool only.
    Result<std::shared_ptr<const fs::Home>> open() const;
    // work(home, path) on the opened home or folder; an open that fails is the result. I/O pool only.
    template <class Work>
    auto run(Work work) const -> decltype(work(std::declval<const fs::Home&>(), path)) {
        auto home = open();
        if (!home) return home.error();
        return work(**home, path);
    }
    Result<fs::FileInfo> stat() const {
        return run([](const fs::Home& home, const std::string& inner) { return home.stat(inner); });
    }
};

}  // namespace ferry::proto
