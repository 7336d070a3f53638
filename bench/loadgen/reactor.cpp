#include "reactor.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

namespace bench {

Reactor::Reactor() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

Reactor::~Reactor() { close(epoll_fd_); }

void Reactor::add(int fd, std::uint32_t events, Handler* handler) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = handler;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
}

void Reactor::modify(int fd, std::uint32_t events, Handler* handler) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = handler;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) < 0)
        throw std::system_error(errno, std::generic_category(), "epoll_ctl mod");
}

void Reactor::remove(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

bool Reactor::run(Clock::time_point deadline, const std::function<bool()>& done) {
    std::array<epoll_event, 512> events{};
    while (!done()) {
        auto now = Clock::now();
        if (now >= deadline) return false;
        // Wake at least every 50 ms so `done` conditions that change without I/O are noticed.
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        int timeout = static_cast<int>(left < 50 ? left + 1 : 50);
        int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
        if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_wait");
        for (int i = 0; i < n; ++i) static_cast<Handler*>(events[i].data.ptr)->on_ready(events[i].events);
    }
    return true;
}

PeriodicTimer::PeriodicTimer(Reactor& reactor, std::chrono::milliseconds period, std::function<void()> callback)
    : reactor_(reactor), fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      callback_(std::move(callback)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
    itimerspec spec{};
    spec.it_interval.tv_sec = period.count() / 1000;
    spec.it_interval.tv_nsec = (period.count() % 1000) * 1'000'000;
    spec.it_value = spec.it_interval;
    timerfd_settime(fd_, 0, &spec, nullptr);
    reactor_.add(fd_, EPOLLIN, this);
}

PeriodicTimer::~PeriodicTimer() {
    reactor_.remove(fd_);
    close(fd_);
}

void PeriodicTimer::on_ready(std::uint32_t) {
    std::uint64_t expirations = 0;
    if (read(fd_, &expirations, sizeof expirations) == sizeof expirations) callback_();
}

}  // namespace bench
