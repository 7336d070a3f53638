// The Linux reactor: epoll (edge-triggered) for readiness, an eventfd for post() and stop(), timers
// in an ordered map. A Windows build replaces this file with an IOCP one; the header stays.
#include "net/reactor.hpp"

#include "net/linux/readiness.hpp"
#include "sys/handle.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unordered_map>
#include <vector>

namespace ferry::net {
namespace {

using Clock = std::chrono::steady_clock;

// epoll_event.data carries (registration generation << 32 | fd). A stale event for an fd that was
// removed (or removed and reused) within the same batch fails the generation check and is dropped.
constexpr std::uint64_t wakeup_token = ~std::uint64_t{0};
constexpr int max_events_per_wait = 256;

[[noreturn]] void throw_errno(const char* what) {
    throw std::runtime_error(std::string("reactor: ") + what + ": " + std::strerror(errno));
}

// A task that throws leaves run() with the exception; the rest of its batch must not run twice.
struct ClearOnExit {
    std::vector<Reactor::Task>& batch;
    ~ClearOnExit() { batch.clear(); }
};

struct Registration {
    detail::ReadinessHandler* handler = nullptr;
    std::uint32_t generation = 0;
};

}  // namespace

struct Reactor::Impl {
    File epoll;
    File wakeup;  // eventfd: written by post()/stop() from any thread

    std::vector<Registration> registrations;  // indexed by fd
    std::uint32_t next_generation = 1;

    std::mutex posted_mutex;
    std::vector<Task> posted;   // guarded by posted_mutex
    std::vector<Task> running;  // the swapped-out batch, reused to keep its capacity

    std::vector<Task> deferred;
    std::vector<Task> deferred_running;

    // Ordered by (deadline, id): equal deadlines fire in the order they were added.
    std::map<std::pair<Clock::time_point, TimerId>, Task> timers;
    std::unordered_map<TimerId, Clock::time_point> timer_deadlines;
    TimerId next_timer_id = 1;

    std::atomic<bool> stop_requested{false};
    std::atomic<std::thread::id> loop_thread{std::this_thread::get_id()};

    Impl() {
        epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
        if (!epoll) throw_errno("epoll_create1");
        wakeup.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
        if (!wakeup) throw_errno("eventfd");
        epoll_event ev{};
        ev.events = EPOLLIN;  // level-triggered: a missed drain can never lose a wakeup
        ev.data.u64 = wakeup_token;
        if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wakeup.get(), &ev) != 0) throw_errno("epoll_ctl(eventfd)");
    }

    void wake() {
        const std::uint64_t one = 1;
        // EAGAIN only when the counter is saturated, which still means "awake": ignoring it is right.
        [[maybe_unused]] auto written = ::write(wakeup.get(), &one, sizeof one);
    }

    void drain_wakeup() {
        std::uint64_t count = 0;
        [[maybe_unused]] auto got = ::read(wakeup.get(), &count, sizeof count);
    }

    void run_posted() {
        drain_wakeup();
        {
            std::lock_guard lock(posted_mutex);
            running.swap(posted);
        }
        ClearOnExit clear{running};
        for (auto& task : running) task();
    }

    // Runs what was deferred so far; what those tasks defer runs on the next turn, after a
    // non-blocking look at the other descriptors (that is what makes per-turn bounds fair).
    void run_deferred() {
        if (deferred.empty()) return;
        deferred_running.swap(deferred);
        ClearOnExit clear{deferred_running};
        for (auto& task : deferred_running) task();
    }

    int wait_timeout_ms() const {
        if (!deferred.empty()) return 0;
        if (timers.empty()) return -1;
        const auto left = timers.begin()->first.first - Clock::now();
        if (left <= Clock::duration::zero()) return 0;
        // Round up: waking a little late is fine, waking early just spins once more.
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
    }

    void run_due_timers() {
        if (timers.empty()) return;
        const auto now = Clock::now();
        const TimerId newest_at_start = next_timer_id;  // timers added while firing wait a turn
        while (!timers.empty()) {
            auto first = timers.begin();
            if (first->first.first > now || first->first.second >= newest_at_start) break;
            Task fire = std::move(first->second);
            timer_deadlines.erase(first->first.second);
            timers.erase(first);
            fire();
        }
    }

    void dispatch(const epoll_event& ev) {
        const int fd = static_cast<int>(ev.data.u64 & 0xffffffffu);
        const auto generation = static_cast<std::uint32_t>(ev.data.u64 >> 32);
        auto still_registered = [&] {
            return static_cast<std::size_t>(fd) < registrations.size() && registrations[fd].handler &&
                   registrations[fd].generation == generation;
        };
        if (!still_registered()) return;
        detail::ReadinessHandler* handler = registrations[fd].handler;
        if (ev.events & (EPOLLERR | EPOLLHUP)) {
            handler->on_error();
            return;
        }
        if (ev.events & EPOLLIN) handler->on_readable();
        // on_readable may have removed the registration (and its handler with it).
        if ((ev.events & EPOLLOUT) && still_registered()) handler->on_writable();
    }

    void run_once() {
        std::array<epoll_event, max_events_per_wait> events;
        const int n = ::epoll_wait(epoll.get(), events.data(), max_events_per_wait, wait_timeout_ms());
        if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == wakeup_token) {
                run_posted();
            } else {
                dispatch(events[i]);
            }
        }
        run_due_timers();
        run_deferred();
    }
};

Reactor::Reactor() : impl_(std::make_unique<Impl>()) {}
Reactor::~Reactor() = default;

void Reactor::run() {
    impl_->loop_thread = std::this_thread::get_id();
    while (!impl_->stop_requested.load(std::memory_order_acquire)) impl_->run_once();
    impl_->stop_requested = false;  // so that run() may be called again
}

void Reactor::stop() {
    impl_->stop_requested.store(true, std::memory_order_release);
    impl_->wake();
}

void Reactor::post(Task task) {
    bool was_empty;
    {
        std::lock_guard lock(impl_->posted_mutex);
        was_empty = impl_->posted.empty();
        impl_->posted.push_back(std::move(task));
    }
    // A non-empty queue already has a wakeup on its way (written by whoever made it non-empty).
    if (was_empty) impl_->wake();
}

void Reactor::defer(Task task) { impl_->deferred.push_back(std::move(task)); }

Reactor::TimerId Reactor::add_timer(std::chrono::milliseconds delay, Task fire) {
    const TimerId id = impl_->next_timer_id++;
    const auto deadline = Clock::now() + delay;
    impl_->timers.emplace(std::pair{deadline, id}, std::move(fire));
    impl_->timer_deadlines.emplace(id, deadline);
    return id;
}

void Reactor::cancel_timer(TimerId id) {
    auto found = impl_->timer_deadlines.find(id);
    if (found == impl_->timer_deadlines.end()) return;
    impl_->timers.erase(std::pair{found->second, id});
    impl_->timer_deadlines.erase(found);
}

bool Reactor::in_loop_thread() const { return impl_->loop_thread.load() == std::this_thread::get_id(); }

namespace detail {

void watch(Reactor& reactor, int fd, ReadinessHandler* handler) {
    if (fd < 0) return;
    Reactor::Impl& impl = reactor.impl();
    auto& table = impl.registrations;
    if (static_cast<std::size_t>(fd) >= table.size()) table.resize(static_cast<std::size_t>(fd) + 1);
    const std::uint32_t generation = impl.next_generation++;
    if (impl.next_generation == 0) impl.next_generation = 1;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
    if (::epoll_ctl(impl.epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl(ADD)");
    table[fd] = Registration{handler, generation};
}

void unwatch(Reactor& reactor, int fd) {
    Reactor::Impl& impl = reactor.impl();
    auto& table = impl.registrations;
    if (fd < 0 || static_cast<std::size_t>(fd) >= table.size() || !table[fd].handler) return;
    table[fd] = Registration{};
    // ENOENT/EBADF only if the owner closed the fd first; the registration is gone either way.
    ::epoll_ctl(impl.epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
}

}  // namespace detail

}  // namespace ferry::net
