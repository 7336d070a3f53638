// Bookmarks: `ferry work` connects as the [bookmarks.work] table of the client's config file says
// (host, port, user, tls, insecure, folder, hash, jobs). Passwords are never stored there (a key
// named password is refused): they come from FERRY_PASSWORD, --password-stdin or the prompt.
// The file: $FERRY_CONFIG, else $XDG_CONFIG_HOME/ferry/config.toml, else ~/.config/ferry/config.toml
// (%APPDATA%\ferry\config.toml on Windows).
#pragma once
#include "client/options.hpp"

#include <string>

namespace ferry::client {

std::string client_config_path();

// Sets `options` from the bookmark `name`; throws ClientError naming the file and line for a
// missing file or bookmark, an unknown key or a bad value.
void apply_bookmark(const std::string& name, Options& options);

}  // namespace ferry::client
