#include "sys/process.hpp"

#include "sys/posix/errno.hpp"

#include <csignal>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace ferry::sys {
namespace {

sigset_t request_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    return signals;
}

}  // namespace

void ProcessRequests::block() {
    const sigset_t signals = request_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void ProcessRequests::unblock() {
    const sigset_t signals = request_signals();
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
}

ProcessRequest ProcessRequests::wait(std::string& why) {
    const sigset_t signals = request_signals();
    int signal_number = 0;
    while (sigwait(&signals, &signal_number) != 0) {
    }
    why = strsignal(signal_number);
    return signal_number == SIGHUP ? ProcessRequest::reopen_logs : ProcessRequest::stop;
}

void ignore_broken_pipe() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction current {};
        if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
            ::signal(SIGPIPE, SIG_IGN);
    });
}

Status raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return last_error();
    if (limit.rlim_cur == limit.rlim_max) return {};
    limit.rlim_cur = limit.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &limit) == 0 ? Status{} : last_error();
}

bool running_as_root() { return ::geteuid() == 0; }

std::string host_name() {
    char name[256] = {};
    return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string();
}

void lower_this_thread_priority(ThreadPriority priority) {
    // nice 10: about a tenth of a core's time while the others want it all, so a lock it holds
    // is never held long. On Linux the nice value belongs to the thread its id names.
    const int nice = priority == ThreadPriority::spare ? 19 : 10;
    [[maybe_unused]] const int ignored = ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
#ifdef SCHED_IDLE
    // SCHED_IDLE is still scheduled now and then while the CPU is busy, only very little: it
    // holds no lock anything else waits for (see net/worker_pool.hpp).
    if (priority == ThreadPriority::spare) {
        const sched_param param{};
        [[maybe_unused]] const int idle = ::sched_setscheduler(0, SCHED_IDLE, &param);
    }
#endif
}

unsigned long process_id() { return static_cast<unsigned long>(::getpid()); }

bool process_running(unsigned long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0; }

void ProcessRequests::accept_reload_requests(const std::string&) {}  // SIGHUP does it

bool send_reload_request(const std::string&, std::string* error) {
    *error = "on Linux, send SIGHUP instead: systemctl reload ferryd, or kill -HUP <pid of ferryd>";
    return false;
}

}  // namespace ferry::sys
