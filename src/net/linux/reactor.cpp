// The Linux reactor: epoll (edge-triggered) for readiness, an eventfd for post() and stop(); posted
// and deferred tasks and timers in detail::ReactorTasks, shared with the Windows (IOCP) backend.
#include "net/reactor.hpp"

#include "base/metrics.hpp"

#include "net/linux/readiness.hpp"
#include "net/reactor_tasks.hpp"
#include "sys/handle.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace ferry::net {
namespace {

// epoll_event.data carries (registration generation << 32 | fd). A stale event for an fd that was
// removed (or removed and reused) within the same batch fails the generation check and is dropped.
constexpr std::uint64_t wakeup_token = ~std::uint64_t{0};
constexpr int max_events_per_wait = 256;

[[noreturn]] void throw_errno(const char* what) {
    throw std::runtime_error(std::string("reactor: ") + what + ": " + std::strerror(errno));
}

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

    detail::ReactorTasks tasks;

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
        tasks.run_posted();
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
        const int n = ::epoll_wait(epoll.get(), events.data(), max_events_per_wait, tasks.wait_timeout_ms());
        if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
        const auto turn_began = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == wakeup_token) {
                run_posted();
            } else {
                dispatch(events[i]);
            }
        }
        tasks.run_due_timers();
        tasks.run_deferred();
        metrics::registry().reactor_turn.observe(std::chrono::steady_clock::now() - turn_began);
    }
};

Reactor::Reactor() : impl_(std::make_unique<Impl>()) {}
// What is still queued goes first, while the reactor is whole (see ReactorTasks::drop_all).
Reactor::~Reactor() { impl_->tasks.drop_all(); }

namespace detail {
ReactorTasks& tasks_of(const Reactor& reactor) { return reactor.impl().tasks; }
void wake(Reactor& reactor) { reactor.impl().wake(); }
void run_once(Reactor& reactor) { reactor.impl().run_once(); }

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
