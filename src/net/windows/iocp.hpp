// The Windows backend's private API: overlapped operations completing on a reactor's I/O
// completion port. A Completion is the OVERLAPPED the kernel fills in plus what to do with the
// result; it must stay alive until its packet was dequeued, whatever happened to its owner in
// between (owners that go away mark their Completions orphaned, and those delete themselves).
#pragma once
#include "net/reactor.hpp"
#include "sys/error.hpp"

#include <winsock2.h>
#include <windows.h>

namespace ferry::net::detail {

struct Completion {
    Completion() = default;
    Completion(const Completion&) = delete;
    Completion& operator=(const Completion&) = delete;
    virtual ~Completion() = default;

    // Runs on the reactor's thread when the packet is dequeued. `error` is ok, cancelled after
    // CancelIoEx or a close, or what the operation failed with.
    virtual void complete(unsigned long bytes, Error error) = 0;

    // What the kernel is handed; it points back here (a plain struct, so the cast is exact).
    OVERLAPPED* overlapped() { return &packet_.overlapped; }
    static Completion* of(OVERLAPPED* overlapped) { return reinterpret_cast<Packet*>(overlapped)->owner; }

private:
    struct Packet {
        OVERLAPPED overlapped;
        Completion* owner;
    };
    Packet packet_{{}, this};
};

// Ties a socket or file handle to the reactor's port, once for its life. An already associated
// handle (a connected data socket handed to a stream) is left as it is.
void associate(Reactor& reactor, HANDLE handle);
// WSAStartup, once per process, before the first socket.
void start_winsock();
// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS on `socket` where that is safe: its provider hands out
// real file handles (XP1_IFS_HANDLES; a layered provider may not). true when set: an operation
// that succeeds at once then queues no packet, and its caller completes it itself.
bool skip_packets_on_success(SOCKET socket);

}  // namespace ferry::net::detail
