// argon2id password hashes (libsodium crypto_pwhash_str). Slow on purpose: call from the worker pool.
#pragma once
#include <string>
#include <string_view>

namespace ferry::auth {

// Initialises libsodium once; false if it cannot (then nothing else here may be used).
bool init_crypto();

// "$argon2id$v=19$m=...". Interactive limits (sized for a login).
std::string hash_password(std::string_view password);

// Constant work whether or not the hash matches. An empty or malformed hash never matches, but
// still costs one verification (so unknown users take as long as wrong passwords).
bool verify_password(std::string_view stored_hash, std::string_view password);

// Random printable password for the demo user and for tests ("correct-horse" style not needed).
std::string random_password(std::size_t length);

}  // namespace ferry::auth
