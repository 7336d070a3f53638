// Digests of an upload, computed while it streams: after each chunk reaches the file, a bulk pool
// job hashes what is new from the page cache (the bytes were just written, so reading them back
// costs a memory copy, not a disk read), so the upload's speed is never bound by the digest's.
// When the upload completes (226) the job catches up with the last chunk and keeps the digests
// with the file (fs/hash.hpp); a HASH of the file that arrives before then waits for it instead
// of reading the file a second time. A resumed upload (REST, APPE) hashes its prefix first.
#pragma once
#include "fs/hash.hpp"
#include "sys/file.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace ferry::proto {

class UploadDigest : public std::enable_shared_from_this<UploadDigest> {
public:
    using Submit = std::function<void(std::function<void()> job)>;  // to the pool's bulk lane
    // `file` is the uploaded file opened for reading; it is read from offset 0.
    static std::shared_ptr<UploadDigest> start(File file, std::vector<fs::HashAlgo> algos, Submit submit);

    // The file holds the upload's bytes up to `end` (the writer's offset after a chunk).
    void written(std::uint64_t end);
    // The upload is over: complete (keep the digests with the file once caught up) or cut.
    void finish(bool complete);
    // Runs `then` once the digests are kept (or given up): at once, or from the pool thread.
    void when_done(std::function<void()> then);

private:
    UploadDigest(File file, std::vector<fs::HashAlgo> algos, Submit submit);
    void wake();  // starts a pool job unless one runs
    void run();   // pool: hashes [hashed_, end_) until caught up, concludes at the end
    bool step(std::vector<char>& block);
    void conclude();

    File file_;
    Submit submit_;
    // The pool job's own (one job at a time, handed on through running_).
    std::vector<fs::StreamingDigest> digests_;
    std::uint64_t hashed_ = 0;
    // Published by the reactor thread.
    enum class Outcome { streaming, complete, cut };
    std::atomic<std::uint64_t> end_{0};
    std::atomic<Outcome> outcome_{Outcome::streaming};
    std::atomic<bool> running_{false};
    std::mutex done_mutex_;
    bool done_ = false;  // guarded by done_mutex_
    std::vector<std::function<void()>> waiting_;
};

// Uploads whose digests are still being computed, by file, for the HASH that comes meanwhile.
class PendingDigests {
public:
    void add(sys::FileId id, std::weak_ptr<UploadDigest> digest);
    void remove(sys::FileId id, const UploadDigest* digest);
    std::shared_ptr<UploadDigest> find(sys::FileId id);

private:
    std::mutex mutex_;
    std::map<sys::FileId, std::weak_ptr<UploadDigest>> pending_;
};

}  // namespace ferry::proto
