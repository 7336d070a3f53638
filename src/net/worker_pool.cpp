#include "net/worker_pool.hpp"

#include "base/metrics.hpp"

#include "base/log.hpp"
#include "sys/process.hpp"

#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ferry::net {
namespace {

constexpr std::size_t lane_count = 3;

std::size_t index_of(Lane lane) { return static_cast<std::size_t>(lane); }

// One queue per lane, each with its own lock: a thread of a low-priority lane that is preempted
// while it pops a job holds up only the submitters of that lane.
struct Queued {
    UniqueTask job;
    std::chrono::steady_clock::time_point since;  // for the pool's wait histogram
};

struct LaneQueue {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Queued> jobs;  // guarded by mutex
    bool stopping = false;                   // guarded by mutex
};

// A job that throws must not take the worker thread (and with it the process) down.
void run_job(UniqueTask& job) {
    try {
        job();
    } catch (const std::exception& e) {
        log::error(cat("worker job failed: ", e.what()));
    } catch (...) {
        log::error("worker job failed with a non-standard exception");
    }
}

}  // namespace

struct WorkerPool::Impl {
    std::array<LaneQueue, lane_count> lanes;
    std::vector<std::thread> threads;
    PoolKind kind = PoolKind::cpu;

    void work(Lane lane) {
        if (lane == Lane::bulk) sys::lower_this_thread_priority(sys::ThreadPriority::background);
        if (lane == Lane::spare) sys::lower_this_thread_priority(sys::ThreadPriority::spare);
        LaneQueue& queue = lanes[index_of(lane)];
        for (;;) {
            Queued next;
            {
                std::unique_lock lock(queue.mutex);
                queue.wake.wait(lock, [&] { return queue.stopping || !queue.jobs.empty(); });
                if (queue.stopping) return;
                next = std::move(queue.jobs.front());
                queue.jobs.pop_front();
            }
            auto& waits = kind == PoolKind::io ? metrics::registry().io_pool_wait : metrics::registry().cpu_pool_wait;
            waits.observe(std::chrono::steady_clock::now() - next.since);
            run_job(next.job);
        }
    }
};

WorkerPool::WorkerPool(unsigned threads, PoolKind kind) : impl_(std::make_unique<Impl>()) {
    if (threads == 0) threads = 1;
    impl_->kind = kind;
    const unsigned low_threads = kind == PoolKind::io ? 0 : threads > 1 ? threads - 1 : 1;  // each of bulk and spare
    impl_->threads.reserve(threads + 2 * low_threads);
    const auto start = [this](Lane lane, unsigned count) {
        for (unsigned i = 0; i < count; ++i)
            impl_->threads.emplace_back([impl = impl_.get(), lane] { impl->work(lane); });
    };
    start(Lane::prompt, threads);
    start(Lane::bulk, low_threads);
    start(Lane::spare, low_threads);
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
    std::array<std::deque<Queued>, lane_count> dropped;
    for (std::size_t i = 0; i < lane_count; ++i) {
        std::lock_guard lock(impl_->lanes[i].mutex);
        impl_->lanes[i].stopping = true;
        dropped[i].swap(impl_->lanes[i].jobs);
    }
    for (auto& lane : impl_->lanes) lane.wake.notify_all();
    for (auto& thread : impl_->threads)
        if (thread.joinable()) thread.join();
    // `dropped` is destroyed here, outside the locks: a job's captures may take locks of their own.
}

void WorkerPool::submit(UniqueTask job, Lane lane) {
    LaneQueue& queue = impl_->lanes[impl_->kind == PoolKind::io ? index_of(Lane::prompt) : index_of(lane)];
    {
        std::lock_guard lock(queue.mutex);
        if (queue.stopping) return;
        queue.jobs.push_back(Queued{std::move(job), std::chrono::steady_clock::now()});
    }
    queue.wake.notify_one();
}

std::size_t WorkerPool::queued() const {
    std::size_t total = 0;
    for (auto& lane : impl_->lanes) {
        std::lock_guard lock(lane.mutex);
        total += lane.jobs.size();
    }
    return total;
}

}  // namespace ferry::net
