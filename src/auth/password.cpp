#include "auth/password.hpp"

#include <sodium.h>

#include <stdexcept>
#include <string>

namespace ferry::auth {
namespace {

// Verified instead of a real hash when the user is unknown or the stored hash is unusable, so a
// login costs one argon2id verification either way and timing doesn't reveal which names exist.
// Made once with the same interactive limits as hash_password; nobody knows its password.
constexpr const char* dummy_hash =
    "$argon2id$v=19$m=65536,t=2,p=1$Hje7QHJUIFOfL69PMqOMUA$PTnNyWbK5ghUtDJUi+a0zzYffqWvyKfV4rES2Dq2vxc";

// Letters and digits without the look-alikes 0/O, 1/l/I, so a printed password can be typed back.
constexpr std::string_view password_alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

// A stored hash that crypto_pwhash_str_verify can actually check. Malformed text would be refused
// by libsodium immediately, which is exactly the fast path the dummy hash exists to avoid.
bool usable_hash(const std::string& stored) {
    if (stored.empty() || stored.size() >= crypto_pwhash_STRBYTES) return false;
    return crypto_pwhash_str_needs_rehash(stored.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_MEMLIMIT_INTERACTIVE) >= 0;
}

void require_crypto() {
    if (!init_crypto()) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace

bool init_crypto() {
    // A function-local static is initialised exactly once even when threads race here.
    static const bool ready = sodium_init() >= 0;
    return ready;
}

std::string hash_password(std::string_view password) {
    require_crypto();
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        // The only documented failure is running out of memory for the argon2id lanes.
        throw std::runtime_error("crypto_pwhash_str failed (out of memory?)");
    }
    return out;
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
    require_crypto();
    const std::string stored(stored_hash);  // libsodium wants a NUL-terminated string
    const bool usable = usable_hash(stored);
    const char* checked = usable ? stored.c_str() : dummy_hash;
    const bool matches = crypto_pwhash_str_verify(checked, password.data(), password.size()) == 0;
    return usable && matches;
}

std::string random_password(std::size_t length) {
    require_crypto();
    std::string password;
    password.reserve(length);
    for (std::size_t i = 0; i < length; ++i) {
        const auto index = randombytes_uniform(static_cast<std::uint32_t>(password_alphabet.size()));
        password.push_back(password_alphabet[index]);
    }
    return password;
}

}  // namespace ferry::auth
