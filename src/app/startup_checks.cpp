#include "app/startup_checks.hpp"

#include "auth/accounts.hpp"
#include "base/decimal.hpp"
#include "base/log.hpp"
#include "sys/file.hpp"
#include "sys/process.hpp"

#include <filesystem>
#include <string>

namespace ferry::app {

bool check_accounts_file(const Config& config) {
    const auto info = sys::path_info(config.users_file);
    if (info && info->is_regular() && info->size == 0) {
        log::error(cat("users_file: ", config.users_file, " is empty (0 bytes; ferryd never writes such a file): "
                       "restore it from a backup, or remove it to start with no accounts"));
        return false;
    }
    std::string error;
    auto loaded = auth::AccountsFile::load(config.users_file, &error);
    if (!loaded) {
        log::error(cat("users_file: ", error, "; not starting (fix the file, or `ferryd user ...` it)"));
        return false;
    }
    for (const auth::Account* account : loaded->blocked())
        log::error(cat("users_file: logins refused for ", account->name, ": ", account->blocked,
                       "; delete or rename it (ferryd user rename)"));
    return true;
}

void remove_stale_temp_files(const Config& config) {
    const std::filesystem::path users(config.users_file);
    const std::string prefix = users.filename().string() + ".tmp.";
    std::error_code ec;
    const auto folder = users.has_parent_path() ? users.parent_path() : std::filesystem::path(".");
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (!name.starts_with(prefix)) continue;
        const auto pid = parse_decimal<unsigned long>(name.substr(prefix.size()));
        if (!pid) continue;
        if (sys::process_running(*pid)) continue;  // its writer still runs
        if (std::filesystem::remove(entry.path(), ec))
            log::warn(cat("users_file: removed ", entry.path().string(), ", left by an interrupted `ferryd user`"));
    }
}

}  // namespace ferry::app
