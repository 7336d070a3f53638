// Typing a secret on a terminal: echo off for as long as an EchoOff lives.
#pragma once
#include <termios.h>

namespace ferry {

struct EchoOffOptions {
    // true: TCSAFLUSH, input typed before echo went off (and so perhaps echoed) is thrown away.
    // false: TCSANOW, a password typed ahead is kept.
    bool discard_typed_ahead = false;
    // true: ECHONL, the terminal still echoes the Enter. false: the caller ends the line itself.
    bool echo_newline = true;
};

// Turns echo off on the terminal `fd` for its lifetime and puts the saved settings back however
// the scope is left. Does nothing when `fd` is not a terminal.
class EchoOff {
public:
    explicit EchoOff(int fd, EchoOffOptions options = {});
    ~EchoOff();
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

private:
    int fd_;
    int when_;  // TCSAFLUSH or TCSANOW, for both the change and the restore
    termios saved_{};
    bool active_ = false;
};

}  // namespace ferry
