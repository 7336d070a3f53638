// Readiness on a descriptor, the Linux backend's private API: the epoll reactor calls these when
// a registered socket becomes readable or writable (edge-triggered), and the socket streams,
// listener and connector turn that into the completions of stream.hpp.
#pragma once
#include "net/reactor.hpp"

namespace ferry::net::detail {

class ReadinessHandler {
public:
    virtual void on_readable() = 0;
    virtual void on_writable() = 0;
    // Error/hang-up on the descriptor; the default wakes both directions so the syscall reports it.
    virtual void on_error() { on_readable(); on_writable(); }

protected:
    ~ReadinessHandler() = default;
};

// Registers fd (edge-triggered, read and write interest). The handler must outlive the registration.
void watch(Reactor& reactor, int fd, ReadinessHandler* handler);
void unwatch(Reactor& reactor, int fd);

}  // namespace ferry::net::detail
