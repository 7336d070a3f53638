// First-start conveniences: the folders the config names, and the embedded default's demo user.
#pragma once
#include "app/config.hpp"

#include <string>
#include <vector>

namespace ferry::app {

// Creates `root` and the folders of users_file and bans_file when missing (handed to the run_as
// user when ferryd runs as root). False (logged) on failure.
bool prepare_folders(const Config& config);
// When the accounts file has no user at all: creates "demo" with a random password, prints the
// password once on stdout, and puts a README in its home. False (logged) on failure.
bool ensure_demo_user(const Config& config);
// Commands that work as shown against this config's first listener (plain and TLS curl, lftp with
// the self-signed certificate accepted, ferry), printed under the demo password and in the README.
std::vector<std::string> demo_commands(const Config& config, const std::string& user, const std::string& password);

}  // namespace ferry::app
