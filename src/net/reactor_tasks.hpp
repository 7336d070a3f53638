// The half of a reactor that is the same on every backend: tasks posted from other threads,
// tasks deferred to the end of the current callback, and one-shot timers. A backend's Impl holds
// one and asks it how long it may wait (wait_timeout) and what to run after each wait; the Reactor
// members built on it are in net/reactor.cpp.
#pragma once
#include "net/reactor.hpp"

#include <atomic>
#include <chrono>
#include <climits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace ferry::net::detail {

class ReactorTasks {
public:
    using Clock = std::chrono::steady_clock;
    using Task = Reactor::Task;
    using TimerId = Reactor::TimerId;

    // Queues `task`; true when the queue was empty, i.e. the caller must wake the loop (a
    // non-empty queue already has a wakeup on its way, from whoever made it non-empty). After
    // drop_all() the task is dropped (destroyed outside the lock) and nothing needs waking.
    bool post(Task task) {
        Task refused;
        std::lock_guard lock(posted_mutex_);
        if (dropping_) {
            refused = std::move(task);
            return false;
        }
        const bool was_empty = posted_.empty();
        posted_.push_back(std::move(task));
        return was_empty;
    }
    // The reactor goes away: every task still queued, deferred or waiting on a timer is destroyed
    // now, while the reactor is whole. What they hold may post to this reactor as it goes (a
    // CommandToken completes from the loop): that is dropped too, never queued into a reactor
    // being destroyed.
    void drop_all() {
        {
            std::lock_guard lock(posted_mutex_);
            dropping_ = true;
        }
        for (;;) {
            std::vector<Task> posted, deferred;
            std::map<std::pair<Clock::time_point, TimerId>, Task> timers;
            {
                std::lock_guard lock(posted_mutex_);
                posted.swap(posted_);
            }
            deferred.swap(deferred_);
            timers.swap(timers_);
            timer_deadlines_.clear();
            if (posted.empty() && deferred.empty() && timers.empty()) return;
        }  // destroyed here, outside the lock; what they defer is dropped on the next round
    }
    void run_posted() {
        {
            std::lock_guard lock(posted_mutex_);
            running_.swap(posted_);
        }
        ClearOnExit clear{running_};
        for (auto& task : running_) task();
    }

    void defer(Task task) { deferred_.push_back(std::move(task)); }
    // Runs what was deferred so far; what those tasks defer runs on the next turn, after a
    // non-blocking look at the other handles (that is what makes per-turn bounds fair).
    void run_deferred() {
        if (deferred_.empty()) return;
        deferred_running_.swap(deferred_);
        ClearOnExit clear{deferred_running_};
        for (auto& task : deferred_running_) task();
    }

    TimerId add_timer(std::chrono::milliseconds delay, Task fire) {
        const TimerId id = next_timer_id_++;
        const auto deadline = Clock::now() + delay;
        timers_.emplace(std::pair{deadline, id}, std::move(fire));
        timer_deadlines_.emplace(id, deadline);
        return id;
    }
    void cancel_timer(TimerId id) {
        auto found = timer_deadlines_.find(id);
        if (found == timer_deadlines_.end()) return;
        timers_.erase(std::pair{found->second, id});
        timer_deadlines_.erase(found);
    }
    void run_due_timers() {
        if (timers_.empty()) return;
        const auto now = Clock::now();
        const TimerId newest_at_start = next_timer_id_;  // timers added while firing wait a turn
        while (!timers_.empty()) {
            auto first = timers_.begin();
            if (first->first.first > now || first->first.second >= newest_at_start) break;
            Task fire = std::move(first->second);
            timer_deadlines_.erase(first->first.second);
            timers_.erase(first);
            fire();
        }
    }

    // Milliseconds the backend may block: 0 with deferred work, -1 (forever) with no timer.
    int wait_timeout_ms() const {
        if (!deferred_.empty()) return 0;
        if (timers_.empty()) return -1;
        const auto left = timers_.begin()->first.first - Clock::now();
        if (left <= Clock::duration::zero()) return 0;
        // Round up: waking a little late is fine, waking early just spins once more.
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }

    std::atomic<bool> stop_requested{false};
    std::atomic<std::thread::id> loop_thread{std::this_thread::get_id()};

private:
    // A task that throws leaves run() with the exception; the rest of its batch must not run twice.
    struct ClearOnExit {
        std::vector<Task>& batch;
        ~ClearOnExit() { batch.clear(); }
    };

    std::mutex posted_mutex_;
    std::vector<Task> posted_;   // guarded by posted_mutex_
    bool dropping_ = false;      // guarded by posted_mutex_: drop_all() began
    std::vector<Task> running_;  // the swapped-out batch, reused to keep its capacity
    std::vector<Task> deferred_;
    std::vector<Task> deferred_running_;
    // Ordered by (deadline, id): equal deadlines fire in the order they were added.
    std::map<std::pair<Clock::time_point, TimerId>, Task> timers_;
    std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;
    TimerId next_timer_id_ = 1;
};

// What each backend's reactor.cpp provides for net/reactor.cpp.
ReactorTasks& tasks_of(const Reactor& reactor);
void wake(Reactor& reactor);       // thread-safe: the loop's wait returns
void run_once(Reactor& reactor);   // one wait, its events, then due timers and deferred tasks

}  // namespace ferry::net::detail
