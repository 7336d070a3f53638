// sys/process.hpp on Windows: Ctrl-C, Ctrl-Break, console close, logoff and shutdown arrive on a
// thread of the system's own (SetConsoleCtrlHandler); the handler queues a stop request for
// ProcessRequests::wait, which runs the same graceful drain as SIGTERM on Linux. There is no
// SIGHUP: `ferryd reload` sets a named event the server waits on (accept_reload_requests).
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

constexpr DWORD reload_event = 0xFFFF;  // not a console event: `ferryd reload`

const char* event_name(DWORD event) {
    switch (event) {
        case reload_event: return "ferryd reload";
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
    const DWORD event = shared.events.front();
    why = event_name(event);
    shared.events.pop_front();
    return event == reload_event ? ProcessRequest::reopen_logs : ProcessRequest::stop;
}

namespace {
// "Global\ferryd-reload-<FNV-1a of the config's path, case folded>": the same for the service (in
// session 0) and an administrator's console.
std::wstring reload_event_name(const std::string& key) {
    std::uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : key) {
        hash ^= static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c == '/' ? '\\' : c);
        hash *= 1099511628211ull;
    }
    wchar_t name[64];
    swprintf(name, 64, L"Global\\ferryd-reload-%016llx", static_cast<unsigned long long>(hash));
    return name;
}
}  // namespace

void ProcessRequests::accept_reload_requests(const std::string& key) {
    HANDLE event = CreateEventW(nullptr, FALSE, FALSE, reload_event_name(key).c_str());
    if (!event) return;
    std::thread([event] {
        while (WaitForSingleObject(event, INFINITE) == WAIT_OBJECT_0) {
            Requests& shared = requests();
            {
                std::lock_guard lock(shared.mutex);
                shared.events.push_back(reload_event);
            }
            shared.arrived.notify_all();
        }
    }).detach();  // waits for the life of the process
}

bool send_reload_request(const std::string& key, std::string* error) {
    HANDLE event = OpenEventW(EVENT_MODIFY_STATE, FALSE, reload_event_name(key).c_str());
    if (!event) {
        *error = "no ferryd runs with this config (or it is not allowed to be told)";
        return false;
    }
    const bool sent = SetEvent(event);
    CloseHandle(event);
    if (!sent) *error = "cannot tell the running ferryd";
    return sent;
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
