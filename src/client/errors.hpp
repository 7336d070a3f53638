// The client's two kinds of failure. A ClientError ends one command (the prompt goes on); a NetError
// means the control connection is gone, so the session cannot continue.
#pragma once
#include <stdexcept>
#include <string>

namespace ferry::client {

class ClientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class NetError : public ClientError {
public:
    using ClientError::ClientError;
};

}  // namespace ferry::client

namespace ferry::client {

// The server refused a command. `code` lets callers choose a fallback (REST+STOR refused -> APPE).
class ReplyError : public ClientError {
public:
    ReplyError(int code, const std::string& message) : ClientError(message), code_(code) {}
    int code() const { return code_; }

private:
    int code_;
};

}  // namespace ferry::client
