// Landlock (Linux 5.13+): after start-up the whole process may touch only what it needs, so a bug
// anywhere in it still cannot read /etc/shadow, another service's files, or run a program.
//  - read and write beneath `root`, the folder of users_file and the folder of bans_file;
//  - create and write files in the log folders (a SIGHUP reopen after logrotate);
//  - read the config, the TLS files, and what the C library may still read later (time zone
//    data, lazily loaded shared libraries, the CPU count, the process's own /proc entry);
//  - nothing else: no other file, no execution. Network access is not restricted here.
// Applied by the one thread that exists at the time; every thread started later inherits it.
#pragma once
#include "app/config.hpp"

#include <string>
#include <vector>

namespace ferry::app {

struct LandlockPaths {
    std::vector<std::string> read_write;   // folders: everything but execute
    std::vector<std::string> create_write; // folders: make and write files (logs)
    std::vector<std::string> read_only;    // files or folders
};

struct LandlockOutcome {
    bool applied = false;
    int abi = 0;          // 0: the kernel offers none
    std::string message;  // for the start-up log line
};

// Applies the ruleset for `paths` to this thread and all it starts later. applied = false (and
// message says why) when the kernel has no Landlock or a rule cannot be added; the caller
// decides whether that stops the start (landlock = "required") or not ("auto").
LandlockOutcome apply_landlock(const LandlockPaths& paths);
int landlock_abi();  // 0 when the kernel has no Landlock

// What ferryd needs after start-up, from its config (see the list at the top).
LandlockPaths landlock_paths(const Config& config);

}  // namespace ferry::app
