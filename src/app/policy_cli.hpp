// The access policy from the shell (auth/policy.hpp): `ferryd user perm|groups|limit|networks|
// expire|show` and `ferryd group ...`. Every change goes through the account store's lock, as
// `ferryd user add` does, so it works alongside running servers and against both stores. Bad input
// (an unknown permission word, a relative path, a bad network, size or date, a missing account or
// group) exits 2 naming the problem and changes nothing.
#pragma once
#include "app/config.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ferry::app {

// `ferryd user COMMAND ...` for the policy's commands; nullopt when COMMAND is not one of them.
std::optional<int> run_user_policy_command(const Config& config, const std::string& command,
                                           std::span<const std::string> words);
extern const char* const user_policy_usage;

// `ferryd group ...`: `args` are the words after "group".
int run_group_command(const Config& config, const std::vector<std::string>& args);

}  // namespace ferry::app
