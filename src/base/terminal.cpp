#include "base/terminal.hpp"

namespace ferry {

EchoOff::EchoOff(int fd, EchoOffOptions options)
    : fd_(fd), when_(options.discard_typed_ahead ? TCSAFLUSH : TCSANOW) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    if (options.echo_newline) quiet.c_lflag |= ECHONL;
    active_ = ::tcsetattr(fd_, when_, &quiet) == 0;
}

EchoOff::~EchoOff() {
    if (active_) ::tcsetattr(fd_, when_, &saved_);
}

}  // namespace ferry
