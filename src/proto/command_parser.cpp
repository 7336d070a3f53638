#include "proto/command_parser.hpp"

namespace ferry::proto {
namespace {
constexpr unsigned char kIac = 255;
constexpr unsigned char kWill = 251, kWont = 252, kDo = 253, kDont = 254;
constexpr unsigned char kSb = 250;  // subnegotiation: treated like a two-byte command
}  // namespace

void CommandParser::add_byte(char c) {
    if (overlong_) return;
    if (line_.size() >= max_line_) {
        overlong_ = true;
        return;
    }
    line_.push_back(c);
}

void CommandParser::end_line(std::vector<ParsedLine>& out) {
    out.push_back(ParsedLine{overlong_, std::move(line_)});
    line_.clear();
    overlong_ = false;
}

void CommandParser::feed(std::span<const char> bytes, std::vector<ParsedLine>& out) {
    for (char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        switch (state_) {
            case State::iac:
                if (u == kIac) {
                    add_byte(c);  // IAC IAC: a literal 0xFF data byte
                    state_ = after_iac_;
                } else if (u == kWill || u == kWont || u == kDo || u == kDont || u == kSb) {
                    state_ = State::iac_option;
                } else {
                    state_ = after_iac_;  // IP, DM, AYT, ...: no data
                }
                continue;
            case State::iac_option:
                state_ = after_iac_;  // the option byte itself
                continue;
            case State::cr:
                state_ = State::text;
                if (u == '\n') {
                    end_line(out);
                    continue;
                }
                [[fallthrough]];  // CR followed by something else: the CR is dropped
            case State::text:
                if (u == kIac) {
                    after_iac_ = State::text;
                    state_ = State::iac;
                } else if (u == '\r') {
                    state_ = State::cr;
                } else if (u == '\n') {
                    end_line(out);
                } else {
                    add_byte(c);
                }
                continue;
        }
    }
}

std::size_t CommandParser::reset() {
    const std::size_t dropped = line_.size();
    line_.clear();
    overlong_ = false;
    state_ = after_iac_ = State::text;
    return dropped;
}

Command split_command(std::string_view line) {
    Command command;
    const auto space = line.find(' ');
    std::string_view verb = line.substr(0, space);
    if (space != std::string_view::npos) command.arg = std::string(line.substr(space + 1));
    // A letter, then letters or digits (XMD5, XSHA256); anything else is not a verb.
    for (char c : verb) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        const bool letter = c >= 'A' && c <= 'Z';
        const bool digit = c >= '0' && c <= '9';
        if (!letter && !(digit && !command.verb.empty())) return Command{"", std::move(command.arg)};
        command.verb.push_back(c);
    }
    return command;
}

}  // namespace ferry::proto
