// `ferryd ban list|remove`: the defender's bans, as kept in bans_file, from the shell. A running
// server applies a removal within accounts_check_interval (5 s when that is 0).
#pragma once
#include "app/config.hpp"

#include <string>
#include <vector>

namespace ferry::app {

// `args` are the words after "ban". Exit status: 0 done, 1 refused (no such ban), 2 usage.
int run_ban_command(const Config& config, const std::vector<std::string>& args);

}  // namespace ferry::app
