// One [[hook]] of the config: which events, and either a program to run (`run`, an absolute path
// and its arguments; never a shell) or a URL to POST the event's JSON to.
#pragma once
#include "proto/hook_event.hpp"

#include <bitset>
#include <chrono>
#include <string>
#include <vector>

namespace ferry::app {

struct HookSpec {
    std::bitset<proto::hook_kind_count> events;
    std::vector<std::string> run;  // argv; empty for a URL hook
    std::string url;               // "" for a program hook
    std::chrono::seconds timeout{10};
    unsigned retries = 3;          // URL hooks: more attempts after a 5xx or no connection
    int line = 0;                  // in the config, for messages
    std::string where() const;     // "hook of line 42 (/usr/local/bin/on-upload)"
    bool wants(proto::HookKind kind) const { return events.test(static_cast<std::size_t>(kind)); }
};

}  // namespace ferry::app
