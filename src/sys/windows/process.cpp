// sys/process.hpp on Windows: Ctrl-C, Ctrl-Break, console close, logoff and shutdown arrive on a
// thread of the system's own (SetConsoleCtrlHandler); the handler queues a stop request for
// ProcessRequests::wait, which runs the same graceful drain as SIGTERM on Linux. There is no
// SIGHUP: log files are reopened by a restart.
#include "sys/process.hpp"

#include <windows.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace ferry::sys {
namespace {

struct Requests {
    std::mutex mutex;
    std::condition_variable arrived;
    std::deque<DWORD> events;
    bool handling = false;  // block() installed the handler and unblock() did not remove it
};

Requests& requests() {
    static Requests* shared = new Requests;  // never destroyed: the handler thread may still use it at exit
    return *shared;
}

const char* event_name(DWORD event) {
    switch (event) {
        case CTRL_C_EVENT: return "Ctrl-C";
        case CTRL_BREAK_EVENT: return "Ctrl-Break";
        case CTRL_CLOSE_EVENT: return "console closed";
        case CTRL_LOGOFF_EVENT: return "logoff";
        case CTRL_SHUTDOWN_EVENT: return "system shutdown";
    }
    return "stop request";
}

BOOL WINAPI on_console_event(DWORD event) {
    Requests& shared = requests();
    {
        std::lock_guard lock(shared.mutex);
        if (!shared.handling) return FALSE;  // the default: end the process
        shared.events.push_back(event);
    }
    shared.arrived.notify_all();
    // After a close, logoff or shutdown event Windows ends the process when the handler returns:
    // give the drain the few seconds the system allows.
    if (event == CTRL_CLOSE_EVENT || event == CTRL_LOGOFF_EVENT || event == CTRL_SHUTDOWN_EVENT)
        std::this_thread::sleep_for(std::chrono::seconds(4));
    return TRUE;
}

}  // namespace

void ProcessRequests::block() {
    {
        std::lock_guard lock(requests().mutex);
        requests().handling = true;
    }
    SetConsoleCtrlHandler(on_console_event, TRUE);
}

void ProcessRequests::unblock() {
    std::lock_guard lock(requests().mutex);
    requests().handling = false;
}

ProcessRequest ProcessRequests::wait(std::string& why) {
    Requests& shared = requests();
    std::unique_lock lock(shared.mutex);
    shared.arrived.wait(lock, [&] { return !shared.events.empty(); });
    why = event_name(shared.events.front());
    shared.events.pop_front();
    return ProcessRequest::stop;
}

// No SIGPIPE on Windows: a send to a reset peer fails with WSAECONNRESET.
void ignore_broken_pipe() {}

// The C runtime's stdio limit is not what bounds sockets and HANDLEs; nothing to raise.
Status raise_open_file_limit() { return {}; }

// An administrator is not root: run_as and the privilege checks are POSIX-only.
bool running_as_root() { return false; }

std::string host_name() {
    char name[MAX_COMPUTERNAME_LENGTH + 1] = {};
    DWORD size = sizeof name;
    return ::GetComputerNameA(name, &size) ? std::string(name, size) : std::string();
}

void lower_this_thread_priority(ThreadPriority priority) {
    SetThreadPriority(GetCurrentThread(),
                      priority == ThreadPriority::spare ? THREAD_PRIORITY_IDLE : THREAD_PRIORITY_BELOW_NORMAL);
}

unsigned long process_id() { return GetCurrentProcessId(); }

bool process_running(unsigned long pid) {
    if (pid == 0) return false;
    HANDLE process = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!process) return GetLastError() == ERROR_ACCESS_DENIED;  // it exists, it is not ours
    DWORD code = 0;
    const bool running = GetExitCodeProcess(process, &code) && code == STILL_ACTIVE;
    CloseHandle(process);
    return running;
}

}  // namespace ferry::sys
