#include "app/startup_checks.hpp"

#include "auth/accounts.hpp"
#include "base/log.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace ferry::app {

bool check_accounts_file(const Config& config) {
    struct stat st {};
    if (::stat(config.users_file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
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
        const std::string pid_text = name.substr(prefix.size());
        if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
        const long pid = std::stol(pid_text);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0) continue;  // its writer still runs
        if (std::filesystem::remove(entry.path(), ec))
            log::warn(cat("users_file: removed ", entry.path().string(), ", left by an interrupted `ferryd user`"));
    }
}

}  // namespace ferry::app
