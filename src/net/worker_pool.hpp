// A few threads for work that may block or burn CPU (argon2id, hashing files, scanning folders).
// Results go back to the owning reactor with Reactor::post, so sessions only ever run on their
// reactor's thread:
//   pool.submit([&reactor, ...] { auto r = slow(); reactor.post([r, ...] { use(r); }); });
//
// Three lanes with threads of their own, so that a login never waits behind a hash: `threads`
// threads for prompt jobs (password checks, account changes, listing batches: short);
// threads - 1 more (at least one) for bulk jobs (HASH of a whole file, an upload's digests that a
// HASH waits for: seconds), which run at a lower priority so that they yield the CPU to the
// transfers; and as many for spare jobs (an upload's digests while it streams and after it, until
// somebody waits for them), which run only on CPU time nothing else wants, so that they cost the
// transfers nothing and may fall behind (proto/upload_digest.hpp). Low-priority threads take no
// lock that a reactor waits for for longer than a few instructions (each lane has its own queue lock).
#pragma once
#include "base/unique_task.hpp"

#include <memory>

namespace ferry::net {

enum class Lane { prompt, bulk, spare };

// cpu: the lanes above, sized by cores. io: one lane of `threads` threads for blocking file-system
// work (open, stat, mkdir, rename, close of written files: milliseconds each on NFS or CephFS),
// sized for latency, not cores: a thread spends its time waiting, and as many calls as threads
// wait at once. Every job goes to its one lane whatever it asks for.
enum class PoolKind { cpu, io };

class WorkerPool {
public:
    explicit WorkerPool(unsigned threads, PoolKind kind = PoolKind::cpu);
    // Lets the running jobs finish, drops the queued ones, joins the threads.
    ~WorkerPool();
    // The same, while the pool object stays: submit() drops its job from then on. The server
    // stops its pool before its reactors, so that what the last jobs post reaches a running loop.
    void stop();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void submit(UniqueTask job, Lane lane = Lane::prompt);  // thread-safe
    std::size_t queued() const;  // jobs waiting in all lanes (for STAT and the logs)

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net
