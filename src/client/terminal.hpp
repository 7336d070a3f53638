// Reading what the user types: lines, secrets without echo, and one-word choices.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ferry::client {

bool stdin_is_terminal();
bool stderr_is_terminal();

// One line from stdin without its line break; nullopt at end of input.
std::optional<std::string> read_input_line();
// Shows `prompt` on stdout, then reads a line.
std::optional<std::string> ask_line(std::string_view prompt);
// Shows `prompt` and reads a line with echo off: from stdin when it is a terminal, else from
// /dev/tty. nullopt when there is no terminal or input ended.
std::optional<std::string> ask_secret(std::string_view prompt);
// Asks until one of `choices` (or a unique prefix of one) is typed; empty input = `fallback`.
// nullopt at end of input or after a few unusable answers.
std::optional<std::string> ask_choice(std::string_view question, std::span<const std::string_view> choices,
                                      std::string_view fallback);

}  // namespace ferry::client
