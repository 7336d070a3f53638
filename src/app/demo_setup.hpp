// First-start conveniences: the folders the config names, and the embedded default's demo user.
#pragma once
#include "app/config.hpp"

namespace ferry::app {

// Creates `root` and the accounts file's folder when missing. False (logged) on failure.
bool prepare_folders(const Config& config);
// When the accounts file has no user at all: creates "demo" with a random password, prints the
// password once on stdout, and puts a README in its home. False (logged) on failure.
bool ensure_demo_user(const Config& config);

}  // namespace ferry::app
