#include "app/landlock.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fcntl.h>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace ferry;

namespace {
// Runs `probe` in a child confined by `paths`; returns its exit status (or -1).
int confined(const app::LandlockPaths& paths, int (*probe)(const std::string&), const std::string& dir) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (!app::apply_landlock(paths).applied) ::_exit(100);
        ::_exit(probe(dir));
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

// 0 when everything the ruleset promises holds; another number says which check failed.
int probe_server_view(const std::string& dir) {
    const int inside = ::open((dir + "/data/new.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (inside < 0) return 1;
    ::close(inside);
    if (::rename((dir + "/data/new.txt").c_str(), (dir + "/data/sub/moved.txt").c_str()) != 0) return 2;
    if (::open("/etc/passwd", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES) return 3;
    if (::open((dir + "/outside.txt").c_str(), O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES) return 4;
    if (::open((dir + "/logs/new.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) < 0) return 5;
    if (::unlink((dir + "/logs/new.log").c_str()) == 0 || errno != EACCES) return 6;  // logs: create and write only
    if (::open((dir + "/ro.txt").c_str(), O_RDONLY | O_CLOEXEC) < 0) return 7;
    if (::open((dir + "/ro.txt").c_str(), O_WRONLY | O_CLOEXEC) >= 0 || errno != EACCES) return 8;
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execv("/bin/true", argv);
    return errno == EACCES ? 0 : 9;  // no execution anywhere
}
}  // namespace

TEST_CASE("landlock: the ruleset keeps a process to its data, its logs and what it reads") {
    if (app::landlock_abi() == 0) {
        MESSAGE("skipped: this kernel offers no Landlock");
        return;
    }
    const testing::TempDir dir("landlock");
    for (const char* folder : {"/data/sub", "/logs"}) std::filesystem::create_directories(dir.path + folder);
    std::ofstream(dir.path + "/outside.txt") << "not for the server";
    std::ofstream(dir.path + "/ro.txt") << "config";
    app::LandlockPaths paths;
    paths.read_write = {dir.path + "/data"};
    paths.create_write = {dir.path + "/logs"};
    paths.read_only = {dir.path + "/ro.txt", "/usr/lib", "/lib"};
    CHECK(confined(paths, probe_server_view, dir.path) == 0);
}

TEST_CASE("landlock_paths covers root, shared_root, the accounts and bans folders, the logs, the config and TLS files") {
    app::Config config;
    config.root = "/srv/ferry/homes";
    config.shared_root = "/srv/ferry/shared";
    config.users_file = "/srv/ferry/etc/users.toml";
    config.bans_file = "/var/lib/ferry/bans.toml";
    config.log_file = "/var/log/ferry/ferryd.log";
    config.xferlog = "/var/log/ferry/xferlog";
    config.config_path = "/etc/ferry/ferryd.toml";
    config.tls_cert = "/etc/ferry/cert.pem";
    config.tls_key = "/etc/ferry/key.pem";
    const auto paths = app::landlock_paths(config);
    CHECK(paths.read_write == std::vector<std::string>{"/srv/ferry/homes", "/srv/ferry/shared", "/srv/ferry/etc", "/var/lib/ferry"});
    CHECK(paths.create_write == std::vector<std::string>{"/var/log/ferry", "/var/log/ferry"});
    // The certificate's and key's folder (a renewal replaces the files by rename), the config itself.
    for (const char* path : {"/etc/ferry/ferryd.toml", "/etc/ferry", "/etc/localtime"})
        CHECK(std::find(paths.read_only.begin(), paths.read_only.end(), path) != paths.read_only.end());
    CHECK(std::find(paths.read_only.begin(), paths.read_only.end(), "/etc") == paths.read_only.end());
}
