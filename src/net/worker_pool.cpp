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
    unsigned bulk_running = 0;                 // guarded by mutex
    unsigned bulk_limit = 1;                   // all threads but one (at least one)
    bool stopping = false;                     // guarded by mutex
    std::vector<std::thread> threads;

    bool bulk_may_start() const { return !bulk.empty() && bulk_running < bulk_limit; }

    // Thread 0 of several takes prompt jobs only; the others take both, prompt ones first, and
    // run at a lower priority, so that hashing yields the CPU to the reactors' transfers.
    void work(bool takes_bulk, bool lower_priority) {
        if (lower_priority) sys::lower_this_thread_priority();
        for (;;) {
            std::function<void()> job;
            bool is_bulk = false;
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [&] { return stopping || !prompt.empty() || (takes_bulk && bulk_may_start()); });
                if (stopping) return;
                is_bulk = prompt.empty();
                auto& lane = is_bulk ? bulk : prompt;
                job = std::move(lane.front());
                lane.pop_front();
                if (is_bulk) ++bulk_running;
            }
            run(job);
            job = nullptr;  // its captures (a HASH job's slot) go before the lane is free again
            if (is_bulk) finish_bulk();
        }
    }

    void finish_bulk() {
        {
            std::lock_guard lock(mutex);
            --bulk_running;
        }
        wake.notify_all();  // a bulk job may start now, on whichever thread is free
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
    impl_->bulk_limit = threads > 1 ? threads - 1 : 1;
    impl_->threads.reserve(threads);
    for (unsigned i = 0; i < threads; ++i)
        impl_->threads.emplace_back([impl = impl_.get(), takes_bulk = threads == 1 || i > 0, lower = i > 0] {
            impl->work(takes_bulk, lower);
        });
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
    // All: the thread woken might be one that may not take a bulk job now.
    impl_->wake.notify_all();
}

std::size_t WorkerPool::queued() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->prompt.size() + impl_->bulk.size();
}

}  // namespace ferry::net
