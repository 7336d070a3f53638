// libedit's readline interface: one editor per process, so the completer is reached through a
// file-level pointer set while a LineEditor lives.
#include "client/line_editor.hpp"

#include "client/errors.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <editline/readline.h>

namespace ferry::client {
namespace {

Completer* active_completer = nullptr;
std::vector<std::string> candidates;  // of the completion under way
std::size_t next_candidate = 0;

char* next_match(const char*, int state) {
    if (state == 0) next_candidate = 0;
    if (next_candidate >= candidates.size()) return nullptr;
    return ::strdup(candidates[next_candidate++].c_str());  // readline frees it
}

char** complete_word(const char* text, int start, int) {
    rl_attempted_completion_over = 1;  // never fall back to readline's own file names
    candidates.clear();
    if (!active_completer) return nullptr;
    try {
        candidates = active_completer->complete(std::string_view(rl_line_buffer, static_cast<std::size_t>(start)), text);
    } catch (const ClientError&) {
        return nullptr;  // a lost connection shows at the next command
    }
    // A folder is completed without a space after it, so its names can follow at once.
    rl_completion_append_character = candidates.size() == 1 && candidates[0].back() == '/' ? '\0' : ' ';
    return rl_completion_matches(text, next_match);
}

}  // namespace

LineEditor::LineEditor(Completer& completer) {
    active_completer = &completer;
    rl_readline_name = "ferry";
    rl_catch_signals = 0;  // Ctrl-C stays ours (see interrupt.hpp)
    rl_attempted_completion_function = complete_word;
    rl_basic_word_break_characters = " \t";
    rl_completer_word_break_characters = const_cast<char*>(" \t");
    using_history();
}

LineEditor::~LineEditor() { active_completer = nullptr; }

std::optional<std::string> LineEditor::read(const std::string& prompt) {
    std::fflush(stdout);
    char* line = readline(prompt.c_str());
    if (!line) return std::nullopt;
    std::string text(line);
    std::free(line);
    return text;
}

void LineEditor::remember(const std::string& line) {
    if (!line.empty()) add_history(line.c_str());
}

}  // namespace ferry::client
