#include "app/user_cli.hpp"

#include "auth/accounts.hpp"
#include "auth/password.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace ferry;
using testing::read_text;

namespace {

// Points fd `target` at `path` for as long as it lives, then puts the original back.
class Redirect {
public:
    Redirect(int target, const std::string& path, int flags) : target_(target), saved_(::dup(target)) {
        const int fd = ::open(path.c_str(), flags, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::dup2(fd, target_) == target_);
        ::close(fd);
    }
    ~Redirect() {
        ::dup2(saved_, target_);
        ::close(saved_);
    }

private:
    int target_;
    int saved_;
};

struct CliResult {
    int code;
    std::string out;
    std::string err;
};

// Runs `ferryd user ARGS` with `input` as stdin, capturing stdout and stderr through real fds.
CliResult run_cli(const app::Config& config, const std::vector<std::string>& args, const std::string& input = "") {
    const std::string base = std::filesystem::path(config.root).parent_path().string() + "/cli";
    std::ofstream(base + ".in", std::ios::binary) << input;
    int code;
    {
        Redirect in(STDIN_FILENO, base + ".in", O_RDONLY);
        Redirect out(STDOUT_FILENO, base + ".out", O_WRONLY | O_CREAT | O_TRUNC);
        Redirect err(STDERR_FILENO, base + ".err", O_WRONLY | O_CREAT | O_TRUNC);
        code = app::run_user_command(config, args);
        std::cout.flush();
        std::cerr.flush();
        std::fflush(stdout);
        std::fflush(stderr);
    }
    return {code, read_text(base + ".out"), read_text(base + ".err")};
}

app::Config config_in(const testing::TempDir& dir) {
    app::Config config;
    config.root = dir.path + "/homes";
    config.users_file = dir.path + "/var/users.toml";
    return config;
}

auth::Account load_account(const app::Config& config, const std::string& name) {
    std::string error;
    auto file = auth::AccountsFile::load(config.users_file, &error);
    REQUIRE_MESSAGE(file.ok(), error);
    const auth::Account* account = file->find(name);
    REQUIRE_MESSAGE(account != nullptr, "no account " << name);
    return *account;
}

}  // namespace

TEST_CASE("ferryd user add with --password-stdin creates the account and its home") {
    const testing::TempDir dir("user-cli");
    const auto config = config_in(dir);
    auto result = run_cli(config, {"add", "alice", "--password-stdin", "--quota", "500M", "--admin"}, "s3cret-pass\n");
    REQUIRE_MESSAGE(result.code == 0, result.err);
    const auth::Account alice = load_account(config, "alice");
    CHECK(auth::verify_password(alice.password_hash, "s3cret-pass"));  // trailing newline stripped
    CHECK(alice.quota == 500ull << 20);
    CHECK(alice.admin);
    CHECK(alice.home == "alice");
    struct stat st{};
    REQUIRE(::stat((config.root + "/alice").c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 0777) == 0750);
    REQUIRE(::stat(config.users_file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    SUBCASE("a duplicate is refused") {
        auto again = run_cli(config, {"add", "alice", "--password-stdin"}, "another-pass\n");
        CHECK(again.code == 1);
        CHECK(again.err.find("already exists") != std::string::npos);
        CHECK(auth::verify_password(load_account(config, "alice").password_hash, "s3cret-pass"));
    }
    SUBCASE("list shows it, with what its home uses") {
        std::FILE* file = std::fopen((config.root + "/alice/two-k").c_str(), "wb");
        REQUIRE(file);
        const std::string bytes(2048, 'x');
        std::fwrite(bytes.data(), 1, bytes.size(), file);
        std::fclose(file);
        auto list = run_cli(config, {"list"});
        CHECK(list.code == 0);
        CHECK(list.out.find("USED") != std::string::npos);
        CHECK(list.out.find("alice") != std::string::npos);
        CHECK(list.out.find("2.0 KiB") != std::string::npos);
        CHECK(list.out.find("500.0 MiB") != std::string::npos);
    }
    SUBCASE("quota parses 0.1G, and default shows the config's default") {
        CHECK(run_cli(config, {"quota", "alice", "0.1G"}).code == 0);
        CHECK(load_account(config, "alice").quota == 107374182u);
        CHECK(run_cli(config, {"quota", "alice", "default"}).code == 0);
        CHECK(run_cli(config, {"list"}).out.find("default (100.0 MiB)") != std::string::npos);
        CHECK(run_cli(config, {"quota", "alice", "lots"}).code == 2);
        CHECK(run_cli(config, {"quota", "nobody2", "1G"}).code == 1);
    }
    SUBCASE("disable and enable") {
        CHECK(run_cli(config, {"disable", "alice"}).code == 0);
        CHECK(load_account(config, "alice").disabled);
        CHECK(run_cli(config, {"enable", "alice"}).code == 0);
        CHECK_FALSE(load_account(config, "alice").disabled);
    }
    SUBCASE("passwd replaces the password") {
        CHECK(run_cli(config, {"passwd", "alice", "--password-stdin"}, "brand-new-pass\r\n").code == 0);
        const auto hash = load_account(config, "alice").password_hash;
        CHECK(auth::verify_password(hash, "brand-new-pass"));
        CHECK_FALSE(auth::verify_password(hash, "s3cret-pass"));
    }
    SUBCASE("del moves the home out of reach; a new alice starts empty") {
        std::ofstream(config.root + "/alice/secret.txt") << "old alice's";
        auto del = run_cli(config, {"del", "alice"});
        CHECK(del.code == 0);
        CHECK(del.out.find(".deleted/alice-") != std::string::npos);
        CHECK(run_cli(config, {"list"}).out.find("alice") == std::string::npos);
        CHECK_FALSE(std::filesystem::exists(config.root + "/alice"));
        std::vector<std::string> retired;
        for (const auto& entry : std::filesystem::directory_iterator(config.root + "/.deleted"))
            retired.push_back(entry.path().filename().string());
        REQUIRE(retired.size() == 1);
        CHECK(retired[0].rfind("alice-", 0) == 0);
        CHECK(std::filesystem::exists(config.root + "/.deleted/" + retired[0] + "/secret.txt"));
        CHECK(run_cli(config, {"del", "alice"}).code == 1);
        REQUIRE(run_cli(config, {"add", "alice", "--password-stdin"}, "another-pass\n").code == 0);
        CHECK(std::filesystem::is_empty(config.root + "/alice"));
    }
    SUBCASE("del --purge removes the home, links in it are not followed") {
        const std::string outside = config.root + "/../outside.txt";
        std::ofstream(outside) << "not alice's";
        std::filesystem::create_symlink(outside, config.root + "/alice/link");
        std::filesystem::create_directories(config.root + "/alice/a/b");
        CHECK(run_cli(config, {"del", "alice", "--purge"}).code == 0);
        CHECK_FALSE(std::filesystem::exists(config.root + "/alice"));
        CHECK(std::filesystem::exists(outside));
        CHECK_FALSE(std::filesystem::exists(config.root + "/.deleted"));
    }
    SUBCASE("names are unique without regard to case") {
        auto upper = run_cli(config, {"add", "ALICE", "--password-stdin"}, "another-pass\n");
        CHECK(upper.code == 1);
        CHECK(upper.err.find("compared without regard to case") != std::string::npos);
    }
    SUBCASE("rename moves the account and the home named after it") {
        CHECK(run_cli(config, {"rename", "alice", "alicia"}).code == 0);
        CHECK(load_account(config, "alicia").home == "alicia");
        CHECK(std::filesystem::is_directory(config.root + "/alicia"));
        CHECK_FALSE(std::filesystem::exists(config.root + "/alice"));
        CHECK(run_cli(config, {"rename", "nobody2", "x"}).code == 1);
    }
}

TEST_CASE("ferryd user add never adopts an existing folder unless told to") {
    const testing::TempDir dir("user-cli");
    const auto config = config_in(dir);
    std::filesystem::create_directories(config.root + "/bob");
    std::ofstream(config.root + "/bob/left.txt") << "someone's";
    auto refused = run_cli(config, {"add", "bob", "--password-stdin"}, "bob-password\n");
    CHECK(refused.code == 1);
    CHECK(refused.err.find("exists already") != std::string::npos);
    CHECK(refused.err.find("--adopt") != std::string::npos);
    CHECK(run_cli(config, {"add", "bob", "--adopt", "--password-stdin"}, "bob-password\n").code == 2);  // needs --home
    auto adopted = run_cli(config, {"add", "bob", "--home", "bob", "--adopt", "--password-stdin"}, "bob-password\n");
    CHECK_MESSAGE(adopted.code == 0, adopted.err);
    CHECK(load_account(config, "bob").home == "bob");
    CHECK(run_cli(config, {"add", "eve", "--home", ".deleted/bob", "--password-stdin"}, "eve-password\n").code == 1);
}

TEST_CASE("ferryd user add refuses bad names, homes and passwords") {
    const testing::TempDir dir("user-cli");
    const auto config = config_in(dir);
    auto reserved = run_cli(config, {"add", "root", "--password-stdin"}, "long-enough\n");
    CHECK(reserved.code == 1);
    CHECK(reserved.err.find("not a valid user name") != std::string::npos);
    CHECK(run_cli(config, {"add", "a/b", "--password-stdin"}, "long-enough\n").code == 1);
    CHECK(run_cli(config, {"add", "bob", "--home", "../escape", "--password-stdin"}, "long-enough\n").code == 1);
    auto short_password = run_cli(config, {"add", "bob", "--password-stdin"}, "short\n");
    CHECK(short_password.code == 1);
    CHECK(short_password.err.find("at least 8") != std::string::npos);
    CHECK(run_cli(config, {"add", "bob", "--password-stdin"}, "").code == 1);  // nothing on stdin
    CHECK_FALSE(std::filesystem::exists(config.root + "/bob"));
    CHECK(run_cli(config, {"list"}).out.find("bob") == std::string::npos);
}

TEST_CASE("ferryd user add --home puts the folder under root") {
    const testing::TempDir dir("user-cli");
    const auto config = config_in(dir);
    REQUIRE(run_cli(config, {"add", "carol", "--home=team/carol", "--password-stdin"}, "long-enough\n").code == 0);
    CHECK(load_account(config, "carol").home == "team/carol");
    CHECK(std::filesystem::is_directory(config.root + "/team/carol"));
}

TEST_CASE("ferryd user usage errors exit 2 with the usage text") {
    const testing::TempDir dir("user-cli");
    const auto config = config_in(dir);
    auto unknown = run_cli(config, {"frobnicate"});
    CHECK(unknown.code == 2);
    CHECK(unknown.err.find("usage:") != std::string::npos);
    CHECK(run_cli(config, {}).code == 2);
    CHECK(run_cli(config, {"add"}).code == 2);
    CHECK(run_cli(config, {"add", "a", "b"}).code == 2);
    CHECK(run_cli(config, {"add", "dave", "--bogus"}).code == 2);
    CHECK(run_cli(config, {"add", "dave", "--quota"}).code == 2);
    CHECK(run_cli(config, {"add", "dave", "--quota", "10Q", "--password-stdin"}, "long-enough\n").code == 2);
    CHECK(run_cli(config, {"quota", "dave"}).code == 2);
    CHECK(run_cli(config, {"list", "extra"}).code == 2);
    CHECK(run_cli(config, {"help"}).code == 0);
}
