#include "sys/terminal.hpp"

#include "sys/posix/fd_io.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace ferry::sys {

bool is_terminal(StdStream stream) {
    const int fd = stream == StdStream::input ? STDIN_FILENO : stream == StdStream::output ? STDOUT_FILENO : STDERR_FILENO;
    return ::isatty(fd) == 1;
}

unsigned terminal_columns() {
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) != 0) return 0;
    return size.ws_col;
}

bool enable_terminal_sequences(StdStream stream) { return is_terminal(stream); }

namespace {

std::optional<std::string> read_line_from(int fd, std::size_t max) {
    std::string line;
    while (line.size() < max) {
        char c = 0;
        const ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return line.empty() ? std::nullopt : std::optional(line);
        if (c == '\n') break;
        line += c;
    }
    return line;
}

}  // namespace

std::optional<std::string> read_standard_input_line(std::size_t max) { return read_line_from(STDIN_FILENO, max); }

std::optional<Tty> Tty::open() {
    File file(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!file) return std::nullopt;
    return Tty(std::move(file));
}

bool Tty::write(std::string_view text) const { return sys::write_all(file_.get(), text) == 0; }

std::optional<std::string> Tty::read_line(std::size_t max) const {
    auto line = read_line_from(file_.get(), max);
    if (line && !line->empty() && line->back() == '\r') line->pop_back();
    return line;
}

struct EchoOff::Saved {
    int fd;
    int when;  // TCSAFLUSH or TCSANOW, for both the change and the restore
    termios mode;
};

EchoOff::EchoOff(StdStream, EchoOffOptions options) { turn_off(STDIN_FILENO, options); }
EchoOff::EchoOff(const Tty& tty, EchoOffOptions options) { turn_off(tty.native(), options); }

void EchoOff::turn_off(File::Native terminal, EchoOffOptions options) {
    auto saved = std::make_unique<Saved>(Saved{terminal, options.discard_typed_ahead ? TCSAFLUSH : TCSANOW, {}});
    if (::tcgetattr(terminal, &saved->mode) != 0) return;
    termios quiet = saved->mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    if (options.echo_newline) quiet.c_lflag |= ECHONL;
    if (::tcsetattr(terminal, saved->when, &quiet) == 0) saved_ = std::move(saved);
}

EchoOff::~EchoOff() {
    if (saved_) ::tcsetattr(saved_->fd, saved_->when, &saved_->mode);
}

}  // namespace ferry::sys
