// Digests of an upload, computed while it streams: after each chunk reaches the file, a job on the
// pool's spare lane hashes what is new from the page cache (the bytes were just written, so
// reading them back costs a memory copy, not a disk read). That lane runs only on CPU time
// nothing else wants, so the upload's speed is never bound by the digest's: on a real network the
// digest keeps up for free; when the upload itself takes every core (loopback), it falls behind.
// When the upload is over (226) a bulk-lane job takes over, catches up one algorithm after the
// other and keeps each digest with the file (fs/hash.hpp) as soon as it is done; a HASH of the file
// that arrives before then waits for its own algorithm's instead of reading the file a second time.
// A resumed upload (REST, APPE) hashes its prefix first.
#pragma once
#include "fs/hash.hpp"
#include "net/worker_pool.hpp"
#include "sys/file.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace ferry::proto {

class UploadDigest : public std::enable_shared_from_this<UploadDigest> {
public:
    using Submit = std::function<void(std::function<void()> job, net::Lane lane)>;  // to the pool
    // `file` is the uploaded file opened for reading; it is read from offset 0.
    static std::shared_ptr<UploadDigest> start(File file, std::vector<fs::HashAlgo> algos, Submit submit);

    // The file holds the upload's bytes up to `end` (the writer's offset after a chunk).
    void written(std::uint64_t end);
    // The upload is over: complete (keep the digests with the file once caught up) or cut.
    void finish(bool complete);
    // The server is stopping: the pool job stops at its next block and keeps nothing.
    void abandon() { abandoned_.store(true); }
    // Runs `then` once the digests are kept (or given up): at once, or from the pool thread.
    void when_done(std::function<void()> then);
    // The same, as soon as `algo`'s digest is kept or given up (for an algorithm this upload does
    // not compute: when everything is).
    void when_kept(fs::HashAlgo algo, std::function<void()> then);

private:
    UploadDigest(File file, std::vector<fs::HashAlgo> algos, Submit submit);
    void wake_streaming();  // starts a spare-lane job unless one runs
    void stream();          // spare lane: hashes [hashed_, end_) while the upload streams
    void catch_up();        // bulk lane, once: hashes what is left, keeps the digests, wakes the waiters
    std::size_t feed(std::span<char> block, std::uint64_t from, std::span<fs::StreamingDigest> digests);
    void keep(fs::StreamingDigest& digest, std::uint64_t hashed);
    void release(std::optional<fs::HashAlgo> algo);  // wakes its waiters; nullopt: all, and done

    File file_;
    Submit submit_;
    const std::vector<fs::HashAlgo> algos_;  // those of digests_, for when_kept()
    // The pool jobs' own, taken by one at a time: the bulk job waits for a spare one's step.
    std::mutex work_mutex_;
    std::vector<fs::StreamingDigest> digests_;  // guarded by work_mutex_
    std::uint64_t hashed_ = 0;                  // guarded by work_mutex_
    bool failed_ = false;                       // guarded by work_mutex_: the file could not be read back
    // Published by the reactor thread.
    enum class Outcome { streaming, complete, cut };
    std::atomic<std::uint64_t> end_{0};
    std::atomic<Outcome> outcome_{Outcome::streaming};
    std::atomic<bool> streaming_job_{false};  // a spare-lane job is queued or running
    std::atomic<bool> abandoned_{false};
    struct Waiter {
        std::optional<fs::HashAlgo> algo;  // nullopt: for everything
        std::function<void()> then;
    };
    std::mutex done_mutex_;
    bool done_ = false;                        // guarded by done_mutex_
    std::vector<fs::HashAlgo> released_;       // guarded by done_mutex_: algorithms done one by one
    std::vector<Waiter> waiting_;              // guarded by done_mutex_
};

// Uploads whose digests are still being computed, by file, for the HASH that comes meanwhile.
class PendingDigests {
public:
    void add(sys::FileId id, std::weak_ptr<UploadDigest> digest);
    void remove(sys::FileId id, const UploadDigest* digest);
    std::shared_ptr<UploadDigest> find(sys::FileId id);
    // At shutdown: every digest still being computed stops (the pool then ends without waiting).
    void abandon_all();

private:
    std::mutex mutex_;
    std::map<sys::FileId, std::weak_ptr<UploadDigest>> pending_;
};

}  // namespace ferry::proto
