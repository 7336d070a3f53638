// The event loop: one per thread. Everything that touches a session runs on its reactor's thread.
//
// What src/proto sees is completion-shaped (see stream.hpp): start an operation, get a callback when
// it is done. That is what IOCP gives on Windows; on Linux the streams implement it over epoll
// readiness (net/linux/reactor.cpp, net/linux/readiness.hpp). This header is the same on both.
#pragma once
#include "base/unique_task.hpp"

#include <chrono>
#include <cstdint>
#include <memory>

namespace ferry::net {

class Reactor {
public:
    using Task = UniqueTask;  // move-only: a task may hold a File or a CommandToken
    using TimerId = std::uint64_t;

    Reactor();
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    // Runs the loop on the calling thread until stop().
    void run();
    // Thread-safe. run() returns after the current iteration.
    void stop();
    // Thread-safe: run `task` on this reactor's thread, in posting order (eventfd wakeup).
    void post(Task task);
    // Reactor thread only: run `task` after the current callback returns, before waiting again.
    // Used to deliver completions without re-entering the code that started the operation.
    void defer(Task task);
    // Reactor thread only: destroy `object` after the current callback returns. For objects whose
    // own callback may be running now (a Transfer, a Listener, a Stream in its handshake).
    template <class T>
    void release_later(std::unique_ptr<T> object) {
        if (object) defer([held = std::move(object)] {});
    }
    // Reactor thread only. A timer fires once; cancel_timer of a fired or unknown id does nothing.
    TimerId add_timer(std::chrono::milliseconds delay, Task fire);
    void cancel_timer(TimerId id);
    bool in_loop_thread() const;

    // The backend's own state (epoll and its registrations; the completion port). Only the
    // backend's files know what is inside.
    struct Impl;
    Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net
