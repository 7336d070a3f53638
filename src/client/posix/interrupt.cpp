#include "client/interrupt.hpp"

#include <atomic>
#include <csignal>

#include <unistd.h>

namespace ferry::client {
namespace {

// Lock-free atomics: safe in a signal handler, and seen by every transfer thread of -j.
std::atomic<int> in_transfer{0};  // scopes alive: a many-file command holds one around its files
std::atomic<int> pressed{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_sigint(int) {
    if (in_transfer) {
        pressed = 1;
        return;
    }
    // Not in a transfer: behave like the default action, but leave the cursor on a fresh line.
    (void)!::write(STDERR_FILENO, "\n", 1);
    ::_exit(130);
}

}  // namespace

void install_interrupt_handler() {
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a blocked poll() returns EINTR and sees the flag
    ::sigaction(SIGINT, &action, nullptr);
}

bool interrupt_pending() { return pressed != 0; }

void repeat_interrupt() {
    if (in_transfer) pressed = 1;
}

void throw_if_interrupted() {
    // Once per press: the ABOR that follows must be able to wait for its reply.
    if (pressed.exchange(0)) throw Interrupted();
}

InterruptScope::InterruptScope() {
    if (in_transfer++ == 0) pressed = 0;
}

InterruptScope::~InterruptScope() {
    if (--in_transfer == 0) pressed = 0;
}

}  // namespace ferry::client
