#include "client/terminal.hpp"

#include "base/fd.hpp"
#include "base/terminal.hpp"

#include <cstdio>
#include <iostream>

#include <fcntl.h>
#include <unistd.h>

namespace ferry::client {
namespace {

std::string strip_cr(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// Reads a line byte by byte from a raw descriptor (the /dev/tty case); bounded length.
std::optional<std::string> read_fd_line(int fd) {
    std::string line;
    for (std::size_t n = 0; n < 4096; ++n) {
        char c = 0;
        const ssize_t got = ::read(fd, &c, 1);
        if (got <= 0) return line.empty() ? std::nullopt : std::optional(line);
        if (c == '\n') return strip_cr(line);
        line += c;
    }
    return line;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }
bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::optional<std::string> read_input_line() {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    return strip_cr(line);
}

std::optional<std::string> ask_line(std::string_view prompt) {
    std::cout << prompt << std::flush;
    return read_input_line();
}

std::optional<std::string> ask_secret(std::string_view prompt) {
    if (stdin_is_terminal()) {
        // Before the prompt, so nothing typed after it is echoed; a password typed ahead is kept.
        EchoOff quiet(STDIN_FILENO);
        std::cout << prompt << std::flush;
        return read_input_line();
    }
    Fd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!tty) return std::nullopt;
    EchoOff quiet(tty.get());
    (void)!::write(tty.get(), prompt.data(), prompt.size());
    return read_fd_line(tty.get());
}

std::optional<std::string> ask_choice(std::string_view question, std::span<const std::string_view> choices,
                                      std::string_view fallback) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        const auto answer = ask_line(question);
        if (!answer) return std::nullopt;
        if (answer->empty()) return std::string(fallback);
        std::string_view match;
        int matches = 0;
        for (std::string_view choice : choices) {
            if (starts_with(choice, *answer)) {
                match = choice;
                ++matches;
            }
        }
        if (matches == 1) return std::string(match);
        std::cout << "please answer one of:";
        for (std::string_view choice : choices) std::cout << ' ' << choice;
        std::cout << "\n";
    }
    return std::nullopt;
}

}  // namespace ferry::client
