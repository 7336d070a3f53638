#include "net/worker_pool.hpp"

#include "base/log.hpp"
#include "sys/process.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ferry::net {

struct WorkerPool::Impl {
    mutable std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> prompt;  // guarded by mutex
    std::deque<std::function<void()>> bulk;    // guarded by mutex
    bool stopping = false;                     // guarded by mutex
    std::vector<std::thread> threads;

    // Each thread serves one lane; the bulk threads run at a lower priority, so that hashing
    // yields the CPU to the reactors' transfers.
    void work(Lane lane) {
        if (lane == Lane::bulk) sys::lower_this_thread_priority();
        auto& queue = lane == Lane::bulk ? bulk : prompt;
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [&] { return stopping || !queue.empty(); });
                if (stopping) return;
                job = std::move(queue.front());
                queue.pop_front();
            }
            run(job);
        }
    }

    // A job that throws must not take the worker thread (and with it the process) down.
    static void run(const std::function<void()>& job) {
        try {
            job();
        } catch (const std::exception& e) {
            log::error(cat("worker job failed: ", e.what()));
        } catch (...) {
            log::error("worker job failed with a non-standard exception");
        }
    }
};

WorkerPool::WorkerPool(unsigned threads) : impl_(std::make_unique<Impl>()) {
    if (threads == 0) threads = 1;
    const unsigned bulk_threads = threads > 1 ? threads - 1 : 1;
    impl_->threads.reserve(threads + bulk_threads);
    for (unsigned i = 0; i < threads; ++i) impl_->threads.emplace_back([impl = impl_.get()] { impl->work(Lane::prompt); });
    for (unsigned i = 0; i < bulk_threads; ++i) impl_->threads.emplace_back([impl = impl_.get()] { impl->work(Lane::bulk); });
}

WorkerPool::~WorkerPool() {
    std::deque<std::function<void()>> dropped, dropped_bulk;
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
        dropped.swap(impl_->prompt);
        dropped_bulk.swap(impl_->bulk);
    }
    impl_->wake.notify_all();
    for (auto& thread : impl_->threads) thread.join();
    // `dropped` is destroyed here, outside the lock: a job's captures may take locks of their own.
}

void WorkerPool::submit(std::function<void()> job, Lane lane) {
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopping) return;
        (lane == Lane::bulk ? impl_->bulk : impl_->prompt).push_back(std::move(job));
    }
    impl_->wake.notify_all();  // the threads of both lanes wait on the one condition
}

std::size_t WorkerPool::queued() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->prompt.size() + impl_->bulk.size();
}

}  // namespace ferry::net
