// put and get: resume decision, quota pre-check, the transfer itself, and the digest check.
#pragma once
#include "client/options.hpp"
#include "client/session.hpp"
#include "client/verify.hpp"

#include <string>

namespace ferry::client {

struct Context {
    Session& session;
    Verifier& verifier;
    const Options& options;
};

// Each throws ClientError with a message for the user when the command fails; a skip is a success.
void put_file(Context& context, const std::string& local, const std::string& remote);
void get_file(Context& context, const std::string& remote, const std::string& local);

// The last path component: "dir/a.txt" -> "a.txt".
std::string base_name(const std::string& path);

}  // namespace ferry::client
