// Ctrl-C in the Windows console client: the console's handler thread sets a flag during a
// transfer (the channel's waits look at it every 200 ms and the transfer sends ABOR); outside a
// transfer it ends the program as usual.
#include "client/interrupt.hpp"

#include <windows.h>

#include <atomic>
#include <cstdio>

namespace ferry::client {
namespace {

std::atomic<int> in_transfer{0};  // scopes alive: a many-file command holds one around its files
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

void repeat_interrupt() {
    if (in_transfer) pressed = true;
}

void throw_if_interrupted() {
    // Once per press: the ABOR that follows must be able to wait for its reply.
    if (pressed.exchange(false)) throw Interrupted();
}

InterruptScope::InterruptScope() {
    if (in_transfer++ == 0) pressed = false;
}

InterruptScope::~InterruptScope() {
    if (--in_transfer == 0) pressed = false;
}

}  // namespace ferry::client
