// The prompt's line input: history (up and down arrows, Ctrl-R to search it) and tab completion,
// by libedit where the platform has it (Linux); on Windows the console's own line editing
// (arrows and F7 history), without completion.
#pragma once
#include "client/completion.hpp"

#include <optional>
#include <string>

namespace ferry::client {

class LineEditor {
public:
    explicit LineEditor(Completer& completer);
    ~LineEditor();
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    // One line, with `prompt`; nullopt at end of input (Ctrl-D).
    std::optional<std::string> read(const std::string& prompt);
    // Adds a line to the history the arrows walk.
    void remember(const std::string& line);
};

}  // namespace ferry::client
