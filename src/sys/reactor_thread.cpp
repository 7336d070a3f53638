#include "sys/reactor_thread.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ferry::sys {
namespace {

thread_local bool t_reactor = false;

bool checking() {
    static const bool enabled = [] {
        const char* value = std::getenv("FERRY_CHECK_REACTOR");
        return value && std::strcmp(value, "0") != 0 && value[0] != '\0';
    }();
    return enabled;
}

}  // namespace

ReactorThreadMark::ReactorThreadMark() : was_(t_reactor) { t_reactor = true; }
ReactorThreadMark::~ReactorThreadMark() { t_reactor = was_; }

bool on_reactor_thread() { return t_reactor; }

void off_reactor(const char* call) {
    if (!t_reactor || !checking()) return;
    std::fprintf(stderr, "FATAL: file-system call %s on a reactor thread (FERRY_CHECK_REACTOR)\n", call);
    std::fflush(stderr);
    std::abort();
}

}  // namespace ferry::sys
