// Home folders as accounts come and go, so that no account inherits a stranger's files:
//  - a deleted account's home is moved out of reach, into <root>/.deleted/<name>-<UTC time>/
//    (a folder no account may have as its home), or removed outright with --purge;
//  - a new account never adopts a folder that already exists, unless an admin says so;
//  - retired homes are removed after deleted_retention days.
// Everything here works on descriptors below `root` and never follows a symlink planted in a home.
#pragma once
#include "base/result.hpp"

#include <chrono>
#include <ctime>
#include <string>

namespace ferry::fs {

// Whether <root>/<home> exists (as anything: a file or a symlink there is not free either).
Result<bool> home_exists(const std::string& root, const std::string& home);

// Moves <root>/<home> to <root>/.deleted/<name>-<YYYYmmddTHHMMSSZ> (".2", ".3", ... when taken);
// returns the new path. ENOENT when there is no such home (nothing to keep).
Result<std::string> retire_home(const std::string& root, const std::string& home, const std::string& name,
                                std::time_t now);

// Removes <root>/<home> and everything in it; symlinks are removed, never followed.
Status purge_home(const std::string& root, const std::string& home);

// Removes the retired homes in <root>/.deleted older than `retention` (by the time in their name).
// Returns how many were removed; errors are logged.
std::size_t prune_retired_homes(const std::string& root, std::chrono::seconds retention, std::time_t now);

// "20261201T081500Z" for `now` (the suffix retire_home gives a name).
std::string utc_stamp(std::time_t now);
// "20261201T081500Z" of a name made by retire_home; -1 when it has none.
std::time_t retired_at(std::string_view folder_name);

}  // namespace ferry::fs
