// Digests of an upload, computed while it streams: after each chunk reaches the file, a job on the
// pool's spare lane hashes what is new from the page cache (the bytes were just written, so
// reading them back costs a memory copy, not a disk read). That lane runs only on CPU time
// nothing else wants, so the upload's speed is never bound by the digest's: on a real network the
// digest keeps up for free; when the upload itself takes every core (loopback), it falls behind.
// When the upload is over (226) the digests catch up, one algorithm after the other, and each is
// kept with the file (fs/hash.hpp) as soon as it is done. That catch-up too waits for CPU time
// nothing else wants (on two loopback cores, a catch-up at nice 10 held the next 2 GiB upload to
// 569 MB/s; in idle time it ran at 2,300), unless somebody waits for it: a HASH of the file that arrives before then waits for its
// own algorithm's digest instead of reading the file a second time, and hurries the catch-up onto
// the bulk lane. At most `max_idle_catch_ups` wait for idle time at once (each holds the file
// open); the others go to the bulk lane at once. A resumed upload (REST, APPE) hashes its prefix first.
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
    static constexpr unsigned max_idle_catch_ups = 64;  // in the whole process
    ~UploadDigest();

    // The file holds the upload's bytes up to `end` (the writer's offset after a chunk).
    void written(std::uint64_t end);
    // The upload is over: complete (keep the digests with the file once caught up) or cut.
    void finish(bool complete);
    // The server is stopping: the pool job stops at its next block and keeps nothing.
    void abandon() { abandoned_.store(true); }
    // Runs `then` once the digests are kept (or given up): at once, or from the pool thread.
    void when_done(std::function<void()> then);
    // The same, as soon as `algo`'s digest is kept or given up (for an algorithm this upload does
    // not compute: when everything is). A caller that waits hurries the catch-up (see above).
    void when_kept(fs::HashAlgo algo, std::function<void()> then);
    // The digests kept so far (all of them once when_done() has run), as {algorithm, hex}.
    std::vector<std::pair<fs::HashAlgo, std::string>> results() const;

private:
    UploadDigest(File file, std::vector<fs::HashAlgo> algos, Submit submit);
    void wake_streaming();  // starts a spare-lane job unless one runs
    void stream();          // spare lane: hashes [hashed_, end_) while the upload streams
    void hurry();           // somebody waits: the catch-up goes to the bulk lane
    void start_hurried_catch_up();
    void catch_up_when_idle();  // spare lane: the catch-up, a block at a time, until hurried
    void catch_up_now();        // bulk lane: the catch-up, to the end
    // One block of the catch-up under work_mutex_: false once there is nothing left to do.
    bool catch_up_step(std::span<char> block);
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
    std::size_t catching_ = 0;                  // guarded by work_mutex_: digests_[catching_] catches up
    std::optional<std::uint64_t> caught_;       // guarded by work_mutex_: up to here (none: not begun)
    // Published by the reactor thread.
    enum class Outcome { streaming, complete, cut };
    std::atomic<std::uint64_t> end_{0};
    std::atomic<Outcome> outcome_{Outcome::streaming};
    std::atomic<bool> streaming_job_{false};  // a spare-lane job is queued or running
    std::atomic<bool> abandoned_{false};
    std::atomic<bool> hurried_{false};         // somebody waits: no more idle-time steps
    std::atomic<bool> hurried_job_{false};     // the bulk-lane catch-up is queued or has run
    bool holds_idle_slot_ = false;             // set once by finish(): counted in max_idle_catch_ups
    struct Waiter {
        std::optional<fs::HashAlgo> algo;  // nullopt: for everything
        std::function<void()> then;
    };
    mutable std::mutex done_mutex_;
    bool done_ = false;                        // guarded by done_mutex_
    std::vector<fs::HashAlgo> released_;       // guarded by done_mutex_: algorithms done one by one
    std::vector<Waiter> waiting_;              // guarded by done_mutex_
    std::vector<std::pair<fs::HashAlgo, std::string>> results_;  // guarded by done_mutex_
};

// Uploads whose digests are still being computed, by file, for the HASH that comes meanwhile.
class PendingDigests {
public:
    void add(sys::FileId id, std::weak_ptr<UploadDigest> digest);
    // The file is about to be written again: a digest of it still being computed keeps nothing.
    void abandon(sys::FileId id);
    void remove(sys::FileId id, const UploadDigest* digest);
    std::shared_ptr<UploadDigest> find(sys::FileId id);
    // At shutdown: every digest still being computed stops (the pool then ends without waiting).
    void abandon_all();

private:
    std::mutex mutex_;
    std::map<sys::FileId, std::weak_ptr<UploadDigest>> pending_;
};

}  // namespace ferry::proto
