// The event loop: one per thread. Everything that touches a session runs on its reactor's thread.
//
// What src/proto sees is completion-shaped (see stream.hpp): start an operation, get a callback when
// it is done. That is what IOCP gives on Windows; on Linux the reactor implements it over epoll
// readiness. Only src/net includes <sys/epoll.h>.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace ferry::net {

class Reactor {
public:
    using Task = std::function<void()>;
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
    // Reactor thread only. A timer fires once; cancel_timer of a fired or unknown id does nothing.
    TimerId add_timer(std::chrono::milliseconds delay, Task fire);
    void cancel_timer(TimerId id);
    bool in_loop_thread() const;

    // ---- for src/net only: readiness on a descriptor ----
    class Handler {
    public:
        virtual void on_readable() = 0;
        virtual void on_writable() = 0;
        // Error/hang-up on the descriptor; the default wakes both directions so the syscall reports it.
        virtual void on_error() { on_readable(); on_writable(); }

    protected:
        ~Handler() = default;
    };
    // Registers fd (edge-triggered, read and write interest). The handler must outlive the registration.
    void add_fd(int fd, Handler* handler);
    void remove_fd(int fd);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::net
