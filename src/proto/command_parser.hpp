// Bytes from the control connection -> command lines. A byte-level state machine:
//  - Telnet (RFC 854): IAC IAC is a literal 0xFF; IAC WILL/WONT/DO/DONT <opt> and other IAC
//    commands (IP, DM, ...) are dropped, also when split across reads.
//  - A line ends at CR LF or at a bare LF; a CR not followed by LF is dropped.
//  - A line longer than max_line is reported once as overlong and the rest of it is discarded.
//  - Arguments are raw bytes (UTF-8 by default, RFC 2640); nothing is decoded here.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proto {

struct ParsedLine {
    bool overlong = false;  // true: the line exceeded max_line; text holds its first bytes
    std::string text;
};

class CommandParser {
public:
    explicit CommandParser(std::size_t max_line) : max_line_(max_line) {}
    // Appends every line completed by `bytes` to `out`.
    void feed(std::span<const char> bytes, std::vector<ParsedLine>& out);
    // Forgets the partial line and any Telnet sequence in progress (AUTH TLS: nothing read in
    // clear text may become part of a command read under TLS). Returns the bytes of line dropped.
    std::size_t reset();

private:
    enum class State { text, cr, iac, iac_option };
    void add_byte(char c);
    void end_line(std::vector<ParsedLine>& out);

    std::size_t max_line_;
    State state_ = State::text;
    State after_iac_ = State::text;  // where an IAC sequence returns to
    std::string line_;
    bool overlong_ = false;
};

struct Command {
    std::string verb;  // upper-cased: a letter, then letters or digits
    std::string arg;   // everything after the first space, unchanged
};

// "retr  my file" -> {"RETR", " my file"}: only the one separating space is removed, because file
// names may begin with spaces. A line starting with a space has an empty verb (-> 500).
Command split_command(std::string_view line);

}  // namespace ferry::proto
