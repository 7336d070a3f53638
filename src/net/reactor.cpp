// The Reactor members that are the same on every backend: they work on the backend's
// detail::ReactorTasks and call its wake() and run_once() (net/linux/reactor.cpp, epoll;
// net/windows/reactor.cpp, a completion port).
#include "net/reactor.hpp"

#include "net/reactor_tasks.hpp"
#include "sys/reactor_thread.hpp"

namespace ferry::net {

void Reactor::run() {
    detail::ReactorTasks& tasks = detail::tasks_of(*this);
    tasks.loop_thread = std::this_thread::get_id();
    const sys::ReactorThreadMark reactor_thread;  // no file-system call from here (sys/reactor_thread.hpp)
    while (!tasks.stop_requested.load(std::memory_order_acquire)) detail::run_once(*this);
    tasks.stop_requested = false;  // so that run() may be called again
}

void Reactor::stop() {
    detail::tasks_of(*this).stop_requested.store(true, std::memory_order_release);
    detail::wake(*this);
}

void Reactor::post(Task task) {
    if (detail::tasks_of(*this).post(std::move(task))) detail::wake(*this);
}

void Reactor::defer(Task task) { detail::tasks_of(*this).defer(std::move(task)); }

Reactor::TimerId Reactor::add_timer(std::chrono::milliseconds delay, Task fire) {
    return detail::tasks_of(*this).add_timer(delay, std::move(fire));
}

void Reactor::cancel_timer(TimerId id) { detail::tasks_of(*this).cancel_timer(id); }

bool Reactor::in_loop_thread() const {
    return detail::tasks_of(*this).loop_thread.load() == std::this_thread::get_id();
}

}  // namespace ferry::net
