// errno <-> Error, for the POSIX and Linux backends only.
#pragma once
#include "sys/error.hpp"

namespace ferry::sys {

Error from_errno(int err);
// from_errno(errno), read at once (before anything else can change it).
Error last_error();
// The errno closest to `err`: what the unit tests compare with (they speak the syscalls' errno).
int to_errno(const Error& err);

}  // namespace ferry::sys
