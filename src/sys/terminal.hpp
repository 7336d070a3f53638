// The terminal: whether there is one, its width, the controlling terminal for prompts, and typing
// a secret with echo off.
#pragma once
#include "sys/handle.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::sys {

enum class StdStream { input, output, error };
bool is_terminal(StdStream stream);
// Columns of the terminal on standard error; 0 when it is not one.
unsigned terminal_columns();
// Whether `stream`, a terminal, takes the VT sequences the progress bar draws with ("\r",
// "ESC[K"): always on POSIX; on Windows this turns on the console's virtual-terminal processing,
// and is false on a console without it (before Windows 10).
bool enable_terminal_sequences(StdStream stream);

// One line from standard input, read byte by byte so that nothing past its newline is consumed
// (a password on stdin followed by other input). nullopt at the end of input.
std::optional<std::string> read_standard_input_line(std::size_t max);

// The controlling terminal (/dev/tty), for a prompt when standard input is a pipe.
class Tty {
public:
    static std::optional<Tty> open();
    bool write(std::string_view text) const;
    // One line without its end (at most `max` bytes); nullopt at the end of input.
    std::optional<std::string> read_line(std::size_t max) const;
    File::Native native() const { return file_.get(); }

private:
    explicit Tty(File file) : file_(std::move(file)) {}
    File file_;
};

struct EchoOffOptions {
    // true: input typed before echo went off (and so perhaps echoed) is thrown away.
    // false: a password typed ahead is kept.
    bool discard_typed_ahead = false;
    // true: the terminal still echoes the Enter. false: the caller ends the line itself.
    bool echo_newline = true;
};

// Echo off for as long as this lives; the saved settings come back however the scope is left.
// Does nothing when the input is not a terminal.
class EchoOff {
public:
    explicit EchoOff(StdStream input, EchoOffOptions options = {});
    explicit EchoOff(const Tty& tty, EchoOffOptions options = {});
    ~EchoOff();
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

private:
    void turn_off(File::Native terminal, EchoOffOptions options);
    struct Saved;
    std::unique_ptr<Saved> saved_;
};

}  // namespace ferry::sys
