#include "client/interrupt.hpp"

#include <csignal>

#include <unistd.h>

namespace ferry::client {
namespace {

volatile std::sig_atomic_t in_transfer = 0;  // scopes alive: a many-file command holds one around its files
volatile std::sig_atomic_t pressed = 0;

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

void throw_if_interrupted() {
    if (!pressed) return;
    pressed = 0;  // once per press: the ABOR that follows must be able to wait for its reply
    throw Interrupted();
}

InterruptScope::InterruptScope() {
    if (in_transfer == 0) pressed = 0;
    in_transfer = in_transfer + 1;
}

InterruptScope::~InterruptScope() {
    in_transfer = in_transfer - 1;
    if (in_transfer == 0) pressed = 0;
}

}  // namespace ferry::client
