#include "sys/wait.hpp"

#include <cerrno>
#include <poll.h>

namespace ferry::sys {

Readiness wait_readable(long long socket, std::chrono::milliseconds timeout) {
    pollfd watched{static_cast<int>(socket), POLLIN, 0};
    const int ready = ::poll(&watched, 1, static_cast<int>(timeout.count()));
    if (ready > 0) return Readiness::readable;
    if (ready == 0 || errno == EINTR) return Readiness::timed_out;
    return Readiness::failed;
}

}  // namespace ferry::sys
