// A minimal epoll loop for the load generator. Handlers are owned by the workloads and outlive the
// loop run; a stale event for a reused handler is harmless because every handler treats EAGAIN
// and "not connected yet" as "wait for the next event".
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>

namespace bench {

using Clock = std::chrono::steady_clock;

class Handler {
public:
    virtual ~Handler() = default;
    virtual void on_ready(std::uint32_t events) = 0;
};

class Reactor {
public:
    Reactor();
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    void add(int fd, std::uint32_t events, Handler* handler);
    void modify(int fd, std::uint32_t events, Handler* handler);
    void remove(int fd);

    // Dispatches events until `done()` is true or `deadline` passes. Returns true when done.
    bool run(Clock::time_point deadline, const std::function<bool()>& done);

private:
    int epoll_fd_;
};

// A periodic timer on a timerfd; `callback` runs once per expiry batch from the reactor.
class PeriodicTimer : public Handler {
public:
    PeriodicTimer(Reactor& reactor, std::chrono::milliseconds period, std::function<void()> callback);
    ~PeriodicTimer() override;
    void on_ready(std::uint32_t events) override;

private:
    Reactor& reactor_;
    int fd_;
    std::function<void()> callback_;
};

}  // namespace bench
