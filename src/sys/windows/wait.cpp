#include "sys/wait.hpp"

#include <winsock2.h>

namespace ferry::sys {

Readiness wait_readable(long long socket, std::chrono::milliseconds timeout) {
    WSAPOLLFD watched{static_cast<SOCKET>(socket), POLLRDNORM, 0};
    const int ready = ::WSAPoll(&watched, 1, static_cast<INT>(timeout.count()));
    if (ready > 0) return Readiness::readable;
    return ready == 0 ? Readiness::timed_out : Readiness::failed;
}

}  // namespace ferry::sys
