// The process and the OS around it: stop and reload requests, limits, identity.
#pragma once
#include "base/result.hpp"

#include <string>

namespace ferry::sys {

// What the OS asks of a running server: SIGINT/SIGTERM (a service stop, a console Ctrl-C or close
// on Windows) and SIGHUP (logrotate; nothing on Windows).
enum class ProcessRequest { stop, reopen_logs };

// Held from before the first thread starts: the requests are blocked in every thread and taken
// only by wait(), so no thread is interrupted mid-call.
class ProcessRequests {
public:
    static void block();
    // Interactive subcommands (a password prompt) want Ctrl-C to end them as usual.
    static void unblock();
    // The next request; `why` names it for the log ("Terminated").
    static ProcessRequest wait(std::string& why);
    // From now on wait() also returns reopen_logs when `ferryd reload` names this server's `key`
    // (its config file): on Windows, which has no SIGHUP, through a named event. POSIX: nothing to
    // do, SIGHUP is the way (systemctl reload).
    static void accept_reload_requests(const std::string& key);
};

// `ferryd reload`: tells the server started with `key` to reopen its logs and reload its TLS
// certificate. False with *error when none listens (or, on POSIX, always: send SIGHUP instead).
bool send_reload_request(const std::string& key, std::string* error);

// A peer that resets while we write (sendfile has no MSG_NOSIGNAL) must be an error, not a death.
// Idempotent; leaves a handler the program installed itself in place.
void ignore_broken_pipe();
// Each session holds a socket and a transfer two more handles: take all the OS allows.
Status raise_open_file_limit();
bool running_as_root();
// Lowers the calling thread's priority for good (an unprivileged thread cannot raise it again).
// background: yields the CPU to the others when they want it (nice 10 on Linux), for the pool
// threads that hash whole files. spare: runs only on CPU time nothing else wants (SCHED_IDLE on
// Linux), for an upload's digests while it streams, so that the upload is not slowed at all.
enum class ThreadPriority { background, spare };
void lower_this_thread_priority(ThreadPriority priority);
// This process's id, for temporary file names; whether a process with that id still runs.
unsigned long process_id();
// The machine's name ("" if the OS will not say): a node's default name among several.
std::string host_name();
bool process_running(unsigned long pid);

}  // namespace ferry::sys
