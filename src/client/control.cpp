#include "client/control.hpp"

#include "base/log.hpp"
#include "client/errors.hpp"

#include <cctype>
#include <iostream>

namespace ferry::client {
namespace {

constexpr std::size_t max_line_bytes = 64 * 1024;
constexpr int max_reply_lines = 100000;  // FEAT, HELP, HASH keep-alives: never near this

bool starts_with_code(std::string_view line) {
    return line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
           std::isdigit(static_cast<unsigned char>(line[1])) && std::isdigit(static_cast<unsigned char>(line[2]));
}

std::string masked(std::string_view line) {
    if (line.size() >= 5 && (line.substr(0, 5) == "PASS " || line.substr(0, 5) == "pass ")) return "PASS ****";
    if (line.rfind("SITE REGISTER ", 0) == 0) return "SITE REGISTER ****";
    return std::string(line);
}

// "STOR a.bin" -> "STOR": the verb is enough context, and arguments may be secrets (PASS).
std::string verb_of(std::string_view line) { return std::string(line.substr(0, line.find(' '))); }

}  // namespace

std::string Reply::text() const {
    if (lines.empty()) return "";
    const std::string& last = lines.back();
    return last.size() > 4 ? last.substr(4) : "";
}

std::string Reply::summary() const { return lines.empty() ? cat(code) : cat(code, " ", text()); }

Control::Control(Channel channel, bool trace) : channel_(std::move(channel)), trace_(trace) {}

std::string Control::read_line() {
    for (int round = 0; round < 100000; ++round) {
        if (const auto end = buffer_.find('\n'); end != std::string::npos) {
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        if (buffer_.size() > max_line_bytes)
            throw NetError(cat("the server sent a reply line longer than ", max_line_bytes, " bytes"));
        char chunk[4096];
        const std::size_t got = channel_.read_some(chunk);
        if (got == 0) throw NetError(cat("the server closed the ", channel_.what(), " connection"));
        buffer_.append(chunk, got);
    }
    throw NetError("reply line never ended");
}

Reply Control::read_reply() {
    Reply reply;
    std::string first = read_line();
    for (int skipped = 0; !starts_with_code(first) && skipped < 100; ++skipped) first = read_line();
    if (!starts_with_code(first)) throw NetError(cat("not an FTP reply: ", first));
    if (trace_) std::cerr << "<- " << first << "\n";
    reply.code = std::stoi(first.substr(0, 3));
    reply.lines.push_back(first);
    if (first.size() > 3 && first[3] == '-') {
        // Multi-line: ends with the same code followed by a space (RFC 959 4.2).
        const std::string end_prefix = first.substr(0, 3) + " ";
        for (int n = 0; n < max_reply_lines; ++n) {
            std::string line = read_line();
            if (trace_) std::cerr << "<- " << line << "\n";
            const bool last = line.rfind(end_prefix, 0) == 0 || line == first.substr(0, 3);
            reply.lines.push_back(std::move(line));
            if (last) return reply;
        }
        throw NetError("multi-line reply never ended");
    }
    return reply;
}

void Control::send(std::string_view line) {
    if (line.find_first_of("\r\n") != std::string_view::npos)
        throw ClientError("names must not contain line breaks");
    if (trace_) std::cerr << "-> " << masked(line) << "\n";
    std::string wire(line);
    wire += "\r\n";
    channel_.write_all(wire);
}

Reply Control::command(std::string_view line) {
    send(line);
    try {
        return read_reply();
    } catch (const NetError& lost) {
        // Name the command: "the server closed the connection" alone doesn't tell a dropped login
        // from a server that went away in the middle of a transfer.
        throw NetError(cat(lost.what(), " (waiting for the reply to ", verb_of(line), ")"));
    }
}

void Control::start_tls(SSL_CTX* ctx, const std::string& host) {
    if (!buffer_.empty()) throw NetError("the server sent data before the TLS handshake");
    channel_.start_tls(ctx, host, nullptr);
}

}  // namespace ferry::client
