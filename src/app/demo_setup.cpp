#include "app/demo_setup.hpp"

#include "auth/accounts.hpp"
#include "auth/password.hpp"
#include "base/log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ferry::app {

bool prepare_folders(const Config& config) {
    std::error_code error;
    std::filesystem::create_directories(config.root, error);
    if (error) {
        log::error(cat("root: cannot create ", config.root, ": ", error.message()));
        return false;
    }
    const auto users_dir = std::filesystem::path(config.users_file).parent_path();
    if (!users_dir.empty()) std::filesystem::create_directories(users_dir, error);
    if (error) {
        log::error(cat("users_file: cannot create the folder of ", config.users_file, ": ", error.message()));
        return false;
    }
    return true;
}

bool ensure_demo_user(const Config& config) {
    std::string password;
    std::string error;
    const Status status = auth::modify_accounts_file(
        config.users_file,
        [&](auth::AccountsFile& accounts) -> Status {
            if (!accounts.all().empty()) return EEXIST;  // not a first start: leave everything alone
            password = auth::random_password(16);
            auth::Account demo;
            demo.name = "demo";
            demo.home = "demo";
            demo.password_hash = auth::hash_password(password);
            accounts.add(std::move(demo));
            return 0;
        },
        &error);
    if (status == EEXIST) return true;
    if (status != 0) {
        log::error(cat("users_file: cannot create the demo user in ", config.users_file, ": ", error));
        return false;
    }
    const auto home = std::filesystem::path(config.root) / "demo";
    std::error_code ec;
    std::filesystem::create_directories(home, ec);
    std::ofstream(home / "README.txt") << "Welcome to Ferry. This is the demo user's home; nothing outside it is "
                                          "reachable.\n";
    std::printf("\n  Demo user created:  user \"demo\", password \"%s\"  (shown once; change it with\n"
                "  `bin/ferryd user passwd demo`). Try:  curl ftp://demo:%s@127.0.0.1:2121/\n\n",
                password.c_str(), password.c_str());
    std::fflush(stdout);
    return true;
}

}  // namespace ferry::app
