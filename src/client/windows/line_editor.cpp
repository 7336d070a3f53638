// The Windows console edits the line itself (arrows, F7 for the history, F8 to search it), so the
// prompt reads plain lines. libedit does not build for Windows.
#include "client/line_editor.hpp"

#include "client/terminal.hpp"

namespace ferry::client {

LineEditor::LineEditor(Completer&) {}
LineEditor::~LineEditor() = default;

std::optional<std::string> LineEditor::read(const std::string& prompt) { return ask_line(prompt); }

void LineEditor::remember(const std::string&) {}

}  // namespace ferry::client
