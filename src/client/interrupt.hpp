// Ctrl-C during a transfer: the SIGINT handler only sets a flag; blocking waits see it (poll returns
// EINTR, the handler is installed without SA_RESTART) and throw Interrupted, and the transfer then
// sends ABOR and keeps the partial file. Outside a transfer Ctrl-C ends the program as usual.
#pragma once
#include "client/errors.hpp"

#include <string>

namespace ferry::client {

class Interrupted : public ClientError {
public:
    Interrupted() : ClientError("interrupted (Ctrl-C)") {}
    explicit Interrupted(const std::string& message) : ClientError(message) {}
};

void install_interrupt_handler();
// Throws Interrupted once for each Ctrl-C pressed during the current transfer.
void throw_if_interrupted();
bool interrupt_pending();
// Marks Ctrl-C as pressed again, after one transfer took it: the other transfers of a run of
// many (-j) stop at their next block too.
void repeat_interrupt();

// Marks a transfer: while one lives, Ctrl-C is caught instead of ending the program.
class InterruptScope {
public:
    InterruptScope();
    ~InterruptScope();
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;
};

}  // namespace ferry::client
