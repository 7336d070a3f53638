// Programs of the [[hook]]s are started by a helper process forked at start-up, before Landlock and
// before the server's threads: ferryd itself keeps no right to execute anything, and the programs
// run outside its Landlock rules (as run_as's user where it is set). The daemon and the helper talk
// over a socketpair (SOCK_SEQPACKET, a message each way per run); the helper forks a watcher per
// run, which feeds the program its stdin, keeps the last line of its stderr, and kills its process
// group at the timeout.
#pragma once
#include "app/privileges.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::app {

struct HookRun {
    std::vector<std::string> argv;  // argv[0]: an absolute path
    std::vector<std::string> env;   // "NAME=value", the whole environment
    std::string input;              // written to its stdin
    std::chrono::seconds timeout{10};
};

struct HookRunOutcome {
    int exit_code = -1;      // -1: killed by a signal or never started
    bool timed_out = false;  // killed at the timeout
    std::string last_line;   // of its stderr (or why it could not start)
};

class HookRunner {
public:
    // Forks the helper; nullptr with *error when it cannot.
    static std::unique_ptr<HookRunner> start(const std::optional<RunAs>& run_as, std::string* error);
    virtual ~HookRunner() = default;
    // Runs one program and waits for it (thread-safe; the callers bound how many at once).
    virtual HookRunOutcome run(const HookRun& run) = 0;
};

}  // namespace ferry::app
