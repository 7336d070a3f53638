// The control connection's byte parser. Beyond "no crash": fed in pieces (split where the input
// says) it yields the same lines as fed whole, no line is longer than max_line, and every verb
// split_command returns is upper case letters and digits.
#include "proto/command_parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

using ferry::proto::CommandParser;
using ferry::proto::ParsedLine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t max_line = 8 + data[0] % 64;
    const std::size_t step = 1 + data[1] % 17;
    const std::span<const char> bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

    CommandParser whole(max_line);
    std::vector<ParsedLine> at_once;
    whole.feed(bytes, at_once);

    CommandParser pieces(max_line);
    std::vector<ParsedLine> piecewise;
    for (std::size_t at = 0; at < bytes.size(); at += step) pieces.feed(bytes.subspan(at, std::min(step, bytes.size() - at)), piecewise);

    if (at_once.size() != piecewise.size()) std::abort();
    for (std::size_t i = 0; i < at_once.size(); ++i) {
        if (at_once[i].text != piecewise[i].text || at_once[i].overlong != piecewise[i].overlong) std::abort();
        if (at_once[i].text.size() > max_line) std::abort();
        const auto command = ferry::proto::split_command(at_once[i].text);
        for (char c : command.verb)
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) std::abort();
    }
    return 0;
}
