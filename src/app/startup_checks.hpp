// What ferryd checks before it listens: a server that starts on a broken accounts file would log
// "listening" and then answer every login with 530.
#pragma once
#include "app/config.hpp"

namespace ferry::app {

// The accounts file loads (a missing one is an empty set, a zero-byte one is refused: ferryd never
// writes one), with every error naming file:line:column and the key. Accounts that today's name
// rules block are logged. False (logged) when the server must not start.
bool check_accounts_file(const Config& config);

// `ferryd user` killed mid-write leaves "<users_file>.tmp.<pid>" (it holds password hashes):
// removes those whose process is gone.
void remove_stale_temp_files(const Config& config);

}  // namespace ferry::app
