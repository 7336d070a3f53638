// Shared folders from the shell: `ferryd folder add|del|list|quota|grant|revoke`. A folder is
// <shared_root>/<name>, with a quota of its own; a grant mounts it into an account's or a group's
// tree at a virtual path with permissions there. Changes go through the account store's lock, as
// every `ferryd user` change does; bad input (a missing folder, account or group, a relative or
// nested mount point, an unknown permission word, a bad size) exits 2 and changes nothing.
#pragma once
#include "app/config.hpp"

#include <string>
#include <vector>

namespace ferry::app {

// `ferryd folder ...`: `args` are the words after "folder".
int run_folder_command(const Config& config, const std::vector<std::string>& args);

}  // namespace ferry::app
