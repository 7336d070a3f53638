// Reading the [[hook]] tables of the config (app/hook_spec.hpp).
#pragma once
#include "app/hook_spec.hpp"

#include <string>
#include <toml++/toml.h>
#include <vector>

namespace ferry::app {

// Reads the `hook` key (an array of tables); throws ConfigError naming the file and line: an
// unknown event, both or neither of run and url, a relative program, a bad timeout.
std::vector<HookSpec> read_hooks(const toml::node& node, const std::string& source);

}  // namespace ferry::app
