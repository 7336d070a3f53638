// The control connection: sends command lines and reads replies (single- and multi-line, RFC 959
// 4.2). Knows nothing about what the commands mean.
#pragma once
#include "client/channel.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ferry::client {

struct Reply {
    int code = 0;
    std::vector<std::string> lines;  // as received, without CR LF

    bool preliminary() const { return code >= 100 && code < 200; }
    bool ok() const { return code >= 200 && code < 400; }
    bool positive_completion() const { return code >= 200 && code < 300; }
    // Text of the last line after the code: "Transfer complete."
    std::string text() const;
    // "550 No such file or directory." for error messages.
    std::string summary() const;
};

class Control {
public:
    Control(Channel channel, bool trace);

    Reply read_reply();
    // Sends one command line and reads its reply.
    Reply command(std::string_view line);
    void send(std::string_view line);

    // Replaces the plain socket with TLS after "234" to AUTH TLS.
    void start_tls(SSL_CTX* ctx, const std::string& host);
    Channel& channel() { return channel_; }
    bool trace() const { return trace_; }

private:
    std::string read_line();

    Channel channel_;
    std::string buffer_;  // bytes received but not yet consumed as lines
    bool trace_;          // -v: echo the conversation (passwords masked) on stderr
};

}  // namespace ferry::client
