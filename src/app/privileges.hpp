// run_as = "user[:group]": for starts outside systemd as root. ferryd binds its listeners, reads
// its TLS key and opens its logs as root, then becomes that user for good (supplementary groups
// cleared; checked that root cannot be regained). The files it writes are that user's, and
// `ferryd user|ban ...` run as root hand what they write over to it.
#pragma once
#include "app/config.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace ferry::app {

struct RunAs {
    std::string user;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
};

// The account run_as names (its login group unless ":group" is given); nullopt with *error set
// when it does not exist. Also nullopt (no error) when run_as is "".
std::optional<RunAs> resolve_run_as(const std::string& spec, std::string* error);

// setgroups({}), setgid, setuid, then a check that setuid(0) fails. A no-op when the process
// already runs as that uid and gid. False with *error on any failure.
bool drop_privileges(const RunAs& target, std::string* error);

// The folders the dropped user must be able to write, as ferryd will: root, the folders of
// users_file and bans_file, the log folders. "" when all are fine, else the first problem.
std::string check_writable_folders(const Config& config);

// Run as root: make `path` belong to the user the server runs as, so that it can rewrite it: the
// run_as user, or without run_as the owner of the folder holding `path` when that is not root (a
// server run as its own user, as the package's unit does). Nothing otherwise. Errors are logged.
void hand_over(const Config& config, const std::string& path);
// The same for a file rewritten under a lock (users_file, bans_file): the file and "<file>.lock".
void hand_over_locked_file(const Config& config, const std::string& path);

}  // namespace ferry::app
