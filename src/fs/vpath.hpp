// Virtual paths: what a user sees. Always absolute, '/'-separated, normalised, never above "/".
// This is presentation only; safety comes from Home resolving beneath the home directory.
#pragma once
#include <string>
#include <string_view>

namespace ferry::fs {

// Resolve `arg` (absolute or relative to `cwd`) into a normalised virtual path: "." and empty
// components dropped, ".." pops one component and stops at "/". Backslashes are ordinary bytes.
// Returns "" if `arg` contains a NUL byte (never a valid name).
std::string vpath_resolve(std::string_view cwd, std::string_view arg);

// "/a/b" -> "a/b", "/" -> "." : the path to hand to *at() calls relative to the home's fd.
std::string vpath_relative(std::string_view vpath);

// "/a/b" -> "/a", "/a" -> "/", "/" -> "/".
std::string vpath_parent(std::string_view vpath);

// "/a/b" -> "b", "/" -> "".
std::string_view vpath_name(std::string_view vpath);

// Components of a normalised virtual path: "/" -> 0, "/a" -> 1, "/a/b" -> 2.
std::size_t vpath_depth(std::string_view vpath);

// Quote a path for a 257 reply: '"' doubled (RFC 959).
std::string vpath_quote(std::string_view vpath);

}  // namespace ferry::fs
