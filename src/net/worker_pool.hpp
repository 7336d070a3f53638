// A few threads for work that may block or burn CPU (argon2id, hashing files, scanning folders).
// Results go back to the owning reactor with Reactor::post, so sessions only ever run on their
// reactor's thread:
//   pool.submit([&reactor, ...] { auto r = slow(); reactor.post([r, ...] { use(r); }); });
//
// Two lanes, so that a login never waits behind a hash: prompt jobs (password checks, account
// changes, listing batches: short) are always taken first, and bulk jobs (HASH of a whole file,
// the digests of an upload: seconds) run on all threads but the first, at a lower priority. With
// one thread, bulk jobs still wait for every prompt job queued before them.
#pragma once
#include <functional>
#include <memory>

namespace ferry::net {

enum class Lane { prompt, bulk };

class WorkerPool {
public:
    explicit WorkerPool(unsigned threads);
    // Lets the running jobs finish, drops the queued ones, joins the threads.
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void submit(std::function<void()> job, Lane lane = Lane::prompt);  // thread-safe
    std::size_t queued() const;  // jobs waiting in both lanes (for STAT and the logs)

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net
