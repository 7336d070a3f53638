#include "client/terminal.hpp"

#include "sys/terminal.hpp"

#include <cstdio>
#include <iostream>

namespace ferry::client {
namespace {

std::string strip_cr(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool stdin_is_terminal() { return sys::is_terminal(sys::StdStream::input); }
bool stderr_is_terminal() { return sys::is_terminal(sys::StdStream::error); }

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
        sys::EchoOff quiet(sys::StdStream::input);
        std::cout << prompt << std::flush;
        return read_input_line();
    }
    const auto tty = sys::Tty::open();
    if (!tty) return std::nullopt;
    sys::EchoOff quiet(*tty);
    tty->write(prompt);
    return tty->read_line(4096);
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
