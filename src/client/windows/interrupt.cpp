// Ctrl-C in the Windows console client: the console's handler thread sets a flag during a
// transfer (the channel's waits look at it every 200 ms and the transfer sends ABOR); outside a
// transfer it ends the program as usual.
#include "client/interrupt.hpp"

#include <windows.h>

#include <atomic>
#include <cstdio>

namespace ferry::client {
namespace {

std::atomic<bool> in_transfer{false};
std::atomic<bool> pressed{false};

BOOL WINAPI on_console_event(DWORD event) {
    if (event != CTRL_C_EVENT && event != CTRL_BREAK_EVENT) return FALSE;
    if (in_transfer) {
        pressed = true;
        return TRUE;
    }
    std::fputs("\n", stderr);
    ExitProcess(130);
}

}  // namespace

void install_interrupt_handler() { SetConsoleCtrlHandler(on_console_event, TRUE); }

bool interrupt_pending() { return pressed; }

void throw_if_interrupted() {
    // Once per press: the ABOR that follows must be able to wait for its reply.
    if (pressed.exchange(false)) throw Interrupted();
}

InterruptScope::InterruptScope() {
    pressed = false;
    in_transfer = true;
}

InterruptScope::~InterruptScope() {
    in_transfer = false;
    pressed = false;
}

}  // namespace ferry::client
