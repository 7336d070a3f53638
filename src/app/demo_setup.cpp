#include "app/demo_setup.hpp"

#include "app/privileges.hpp"
#include "auth/accounts.hpp"
#include "auth/password.hpp"
#include "base/log.hpp"
#include "fs/home_folders.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ferry::app {

bool prepare_folders(const Config& config) {
    for (const auto& [key, folder] : data_folders(config)) {
        std::error_code error;
        // A folder made here, as root for a run_as server, is that user's: the server writes there.
        if (std::filesystem::create_directories(folder, error)) hand_over(config, folder);
        if (error) {
            log::error(cat(key, ": cannot create the folder ", folder, ": ", error.message()));
            return false;
        }
    }
    return true;
}

namespace {
// A listen entry as URLs and command lines want it: "[::1]:21" -> {"[::1]", "::1", "21"}.
struct Endpoint {
    std::string host;       // as in a URL
    std::string bare_host;  // as an option value
    std::string port;
};
Endpoint split_listen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    std::string bare = host.front() == '[' ? host.substr(1, host.size() - 2) : host;
    return {std::move(host), std::move(bare), listen.substr(colon + 1)};
}

std::string menu_command(const Config& config) {
    const Endpoint at = split_listen(config.listen.front());
    return cat("bin/ferry -s ", at.bare_host, " -P ", at.port);
}
}  // namespace

bool ensure_demo_user(const Config& config) {
    std::string password;
    std::string error;
    const Status status = auth::modify_accounts_file(
        config.users_file,
        [&](auth::AccountsFile& accounts) -> Status {
            if (!accounts.all().empty()) return Errc::exists;  // not a first start: leave everything alone
            // A folder "demo" left from an earlier accounts file holds someone's files: never adopt it.
            if (auto exists = fs::home_exists(config.root, "demo"); !exists || *exists) return Errc::busy;
            password = auth::random_password(16);
            auth::Account demo;
            demo.name = "demo";
            demo.home = "demo";
            demo.password_hash = auth::hash_password(password);
            accounts.add(std::move(demo));
            return {};
        },
        &error);
    if (status == Errc::exists) return true;
    if (status == Errc::busy) {
        log::warn(cat("demo_user: not created: ", config.root, "/demo exists already and is not handed to a new "
                      "account; move it away, or add a user with `ferryd user add`"));
        return true;
    }
    if (status) {
        log::error(cat("users_file: cannot create the demo user in ", config.users_file, ": ", error));
        return false;
    }
    const auto home = std::filesystem::path(config.root) / "demo";
    std::error_code ec;
    std::filesystem::create_directories(home, ec);
    std::ofstream(home / "README.txt") << "Welcome to Ferry. This is the demo user's home; nothing outside it is "
                                          "reachable.\n";
    std::printf("\n  Demo user created:  user \"demo\", password \"%s\"  (shown once; change it with\n"
                "  `bin/ferryd user passwd demo`). From another terminal, any of:\n",
                password.c_str());
    for (const std::string& line : demo_commands(config, "demo", password)) std::printf("    %s\n", line.c_str());
    if (config.registration == Registration::open) std::printf("  Or make your own account: %s, then \"1. create user\".\n", menu_command(config).c_str());
    std::printf("\n");
    std::fflush(stdout);
    return true;
}

std::vector<std::string> demo_commands(const Config& config, const std::string& user, const std::string& password) {
    const auto [host, bare_host, port] = split_listen(config.listen.front());
    const std::string url = cat("ftp://", user, ':', password, '@', host, ':', port, '/');
    std::vector<std::string> lines{cat("curl ", url)};
    if (config.tls != TlsMode::off) lines.push_back(cat("curl --ssl-reqd -k ", url));
    // lftp upgrades to TLS by itself and refuses a self-signed certificate unless told not to check.
    lines.push_back(cat("lftp -e 'set ssl:verify-certificate no' -u ", user, ',', password, " -p ", port, ' ', bare_host));
    lines.push_back(cat("bin/ferry", config.tls != TlsMode::off ? " --tls --insecure " : " ", url));
    return lines;
}

}  // namespace ferry::app
