// The accounts-file loader: anything it accepts writes back (to_toml) to a file that loads to the
// same accounts, and nothing it accepts has a home outside root.
#include "auth/accounts.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {
std::string scratch_file() {
    static const std::string path = "/tmp/ferry-fuzz-accounts-" + std::to_string(::getpid()) + ".toml";
    return path;
}
bool write(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = scratch_file();
    if (!write(path, std::string(reinterpret_cast<const char*>(data), size))) return 0;
    std::string error;
    auto loaded = ferry::auth::AccountsFile::load(path, &error);
    if (!loaded) {
        if (error.empty()) std::abort();  // a refusal always says why
        return 0;
    }
    for (const auto& [name, account] : loaded->all())
        if (!ferry::auth::valid_home_path(account.home) || !ferry::auth::valid_password_hash(account.password_hash))
            std::abort();
    const std::string written = loaded->to_toml();
    if (!write(path, written)) return 0;
    auto again = ferry::auth::AccountsFile::load(path, &error);
    if (!again || again->to_toml() != written) std::abort();
    return 0;
}
