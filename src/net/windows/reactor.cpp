// The Windows reactor: one I/O completion port per reactor thread. GetQueuedCompletionStatusEx
// waits until the next timer's deadline; PostQueuedCompletionStatus with no OVERLAPPED is the
// cross-thread wakeup of post() and stop(). Posted and deferred tasks and timers are the shared
// detail::ReactorTasks. Each dequeued packet runs its Completion (iocp.hpp).
#include "net/reactor.hpp"

#include "base/metrics.hpp"

#include "net/reactor_tasks.hpp"
#include "net/windows/iocp.hpp"
#include "sys/windows/wide.hpp"

#include <winternl.h>

#include <array>
#include <mutex>
#include <stdexcept>
#include <string>

namespace ferry::net {
namespace {

constexpr ULONG max_packets_per_wait = 256;
constexpr ULONG_PTR wakeup_key = 1;

[[noreturn]] void throw_last_error(const char* what) {
    throw std::runtime_error(std::string("reactor: ") + what + ": " + sys::windows::last_win32_error().message());
}

}  // namespace

struct Reactor::Impl {
    HANDLE port = nullptr;
    detail::ReactorTasks tasks;

    Impl() {
        detail::start_winsock();
        port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
        if (!port) throw_last_error("CreateIoCompletionPort");
    }
    ~Impl() { CloseHandle(port); }

    void wake() { PostQueuedCompletionStatus(port, 0, wakeup_key, nullptr); }

    void run_once() {
        std::array<OVERLAPPED_ENTRY, max_packets_per_wait> packets;
        ULONG n = 0;
        const int timeout = tasks.wait_timeout_ms();
        if (!GetQueuedCompletionStatusEx(port, packets.data(), max_packets_per_wait, &n,
                                         timeout < 0 ? INFINITE : static_cast<DWORD>(timeout), FALSE)) {
            if (GetLastError() != WAIT_TIMEOUT) throw_last_error("GetQueuedCompletionStatusEx");
            n = 0;
        }
        const auto turn_began = std::chrono::steady_clock::now();
        bool woken = false;
        for (ULONG i = 0; i < n; ++i) {
            const OVERLAPPED_ENTRY& packet = packets[i];
            if (!packet.lpOverlapped) {
                woken = true;
                continue;
            }
            // Internal holds the NTSTATUS of the finished operation.
            const auto status = static_cast<long>(packet.lpOverlapped->Internal);
            const Error error = status == 0 ? Error{} : sys::windows::from_ntstatus(status);
            detail::Completion::of(packet.lpOverlapped)->complete(packet.dwNumberOfBytesTransferred, error);
        }
        if (woken) tasks.run_posted();
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


void associate(Reactor& reactor, HANDLE handle) {
    if (CreateIoCompletionPort(handle, reactor.impl().port, 0, 0)) return;
    // ERROR_INVALID_PARAMETER: associated already (a socket ConnectEx used on this reactor).
    if (GetLastError() != ERROR_INVALID_PARAMETER) throw_last_error("CreateIoCompletionPort(associate)");
}

bool skip_packets_on_success(SOCKET socket) {
    WSAPROTOCOL_INFOW protocol{};
    int size = sizeof protocol;
    if (::getsockopt(socket, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&protocol), &size) != 0) return false;
    if (!(protocol.dwServiceFlags1 & XP1_IFS_HANDLES)) return false;
    return SetFileCompletionNotificationModes(reinterpret_cast<HANDLE>(socket), FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
}

void start_winsock() {
    static std::once_flag once;
    std::call_once(once, [] {
        WSADATA data{};
        if (WSAStartup(MAKEWORD(2, 2), &data) != 0) throw std::runtime_error("WSAStartup failed");
    });
}

}  // namespace detail
}  // namespace ferry::net
