// `ferryd user ...`: administer the accounts file from the shell, safely alongside a running server
// (every change goes through modify_accounts_file).
#pragma once
#include "app/config.hpp"

#include <string>
#include <vector>

namespace ferry::app {

// `args` are the words after "user", e.g. {"add", "alice", "--quota", "500M"}.
// Output goes to stdout, complaints to stderr; a --password-stdin password is one line of fd 0.
// Returns 0 on success, 1 when the operation was refused (stderr says why), 2 on a usage error.
int run_user_command(const Config& config, const std::vector<std::string>& args);

}  // namespace ferry::app
