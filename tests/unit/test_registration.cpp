#include "auth/registration.hpp"

#include "app/config.hpp"
#include "app/user_cli.hpp"
#include "auth/accounts.hpp"
#include "auth/password.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

using namespace ferry;
using auth::RegistrationLimiter;
using namespace std::chrono_literals;

namespace {

// An arbitrary steady_clock instant far from zero, so "an hour earlier" exists.
const RegistrationLimiter::Clock::time_point t0 = RegistrationLimiter::Clock::time_point{} + 1000h;

std::string config_error_of(const std::string& text) {
    try {
        app::parse_config(text, "test.toml");
    } catch (const app::ConfigError& e) {
        return e.what();
    }
    return "";
}

// Runs `ferryd user ARGS` with `input` on fd 0 and returns the exit code and what went to fd 2.
std::pair<int, std::string> run_user_cli(const app::Config& config, const std::vector<std::string>& args,
                                         const std::string& input, const std::string& scratch) {
    std::ofstream(scratch + ".in") << input;
    const int saved_in = ::dup(STDIN_FILENO), saved_out = ::dup(STDOUT_FILENO), saved_err = ::dup(STDERR_FILENO);
    const int in = ::open((scratch + ".in").c_str(), O_RDONLY);
    const int out = ::open("/dev/null", O_WRONLY);
    const int err = ::open((scratch + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE((in >= 0 && out >= 0 && err >= 0 && saved_in >= 0 && saved_out >= 0 && saved_err >= 0));
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    const int code = app::run_user_command(config, args);
    std::cerr.flush();
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(saved_in, STDIN_FILENO);
    ::dup2(saved_out, STDOUT_FILENO);
    ::dup2(saved_err, STDERR_FILENO);
    for (int fd : {in, out, err, saved_in, saved_out, saved_err}) ::close(fd);
    std::ifstream text(scratch + ".err");
    std::ostringstream captured;
    captured << text.rdbuf();
    return {code, captured.str()};
}

}  // namespace

TEST_CASE("registrations per address are limited in a sliding hour") {
    RegistrationLimiter limiter(3);
    CHECK(limiter.allow("192.0.2.1", t0));
    CHECK(limiter.allow("192.0.2.1", t0 + 10min));
    CHECK(limiter.allow("192.0.2.1", t0 + 20min));
    CHECK_FALSE(limiter.allow("192.0.2.1", t0 + 30min));
    CHECK(limiter.allow("192.0.2.2", t0 + 30min));  // another address has its own count
    CHECK(limiter.recent("192.0.2.1", t0 + 30min) == 3);
    // The first one leaves the window exactly an hour later, the others not yet.
    CHECK_FALSE(limiter.allow("192.0.2.1", t0 + 59min));
    CHECK(limiter.allow("192.0.2.1", t0 + 60min));
    CHECK_FALSE(limiter.allow("192.0.2.1", t0 + 61min));
    CHECK(limiter.recent("192.0.2.1", t0 + 61min) == 3);
}

TEST_CASE("refund gives a slot back after a failed account write") {
    RegistrationLimiter limiter(1);
    CHECK(limiter.allow("192.0.2.9", t0));
    CHECK_FALSE(limiter.allow("192.0.2.9", t0));
    limiter.refund("192.0.2.9");
    CHECK(limiter.allow("192.0.2.9", t0 + 1s));
}

TEST_CASE("IPv6 clients are counted per /64 and mapped IPv4 as IPv4") {
    CHECK(auth::registration_group("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64");
    CHECK(auth::registration_group("::ffff:192.0.2.7") == "192.0.2.7");
    CHECK(auth::registration_group("192.0.2.7") == "192.0.2.7");
    RegistrationLimiter limiter(2);
    CHECK(limiter.allow("2001:db8:1:2::1", t0));
    CHECK(limiter.allow("2001:db8:1:2::ffff:1", t0));
    CHECK_FALSE(limiter.allow("2001:db8:1:2:ffff::77", t0));  // same /64, new interface id
    CHECK(limiter.allow("2001:db8:1:3::1", t0));              // next /64
    CHECK(limiter.allow("192.0.2.7", t0));
    CHECK(limiter.allow("::ffff:192.0.2.7", t0));
    CHECK_FALSE(limiter.allow("192.0.2.7", t0));
}

TEST_CASE("old addresses are forgotten and the table never grows past its bound") {
    RegistrationLimiter limiter(5, 100);
    for (int i = 0; i < 100; ++i) CHECK(limiter.allow("10.0.0." + std::to_string(i), t0));
    CHECK(limiter.tracked_addresses() == 100);
    // Full within the hour: a new address is refused, known ones still count normally.
    CHECK_FALSE(limiter.allow("10.0.1.1", t0 + 30min));
    CHECK(limiter.allow("10.0.0.1", t0 + 30min));
    CHECK(limiter.tracked_addresses() == 100);
    // An hour later everything from t0 is gone except the one that registered again.
    CHECK(limiter.allow("10.0.1.1", t0 + 61min));
    CHECK(limiter.tracked_addresses() == 2);
}

TEST_CASE("concurrent attempts cannot take more than the allowed slots") {
    RegistrationLimiter limiter(5);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i)
                if (limiter.allow("198.51.100.1", t0)) ++allowed;
        });
    for (auto& thread : threads) thread.join();
    CHECK(allowed.load() == 5);
}

TEST_CASE("check_new_password explains what is wrong") {
    CHECK(auth::check_new_password("correct horse", 8) == "");
    CHECK(auth::check_new_password("short", 8).find("at least 8") != std::string::npos);
    CHECK(auth::check_new_password("sixsix", 6) == "");
    // Characters, not bytes: 8 two-byte letters pass a minimum of 8, 7 of them do not.
    CHECK(auth::check_new_password("ääääääöä", 8) == "");
    CHECK(auth::check_new_password("äöäöäöä", 8).find("too short") != std::string::npos);
    CHECK(auth::check_new_password("with\ttab1", 8).find("control") != std::string::npos);
    CHECK(auth::check_new_password(std::string("nul\0byte1", 9), 8).find("control") != std::string::npos);
    CHECK(auth::check_new_password("bad\xff utf-8 text", 8).find("UTF-8") != std::string::npos);
    CHECK(auth::check_new_password("overlong \xc0\xaf!", 8).find("UTF-8") != std::string::npos);
    CHECK(auth::check_new_password("cut short \xe2\x82", 8).find("UTF-8") != std::string::npos);
    CHECK(auth::check_new_password("surrogate \xed\xa0\x80", 8).find("UTF-8") != std::string::npos);
    CHECK(auth::check_new_password("aaaaaaaaaaaa", 8).find("repeated") != std::string::npos);
    CHECK(auth::check_new_password(std::string(auth::max_password_bytes + 1, 'x') + "y", 8).find("too long") !=
          std::string::npos);
}

TEST_CASE("check_new_user_name follows valid_user_name") {
    CHECK(auth::check_new_user_name("alice_2") == "");
    CHECK(auth::check_new_user_name("root").find("not a valid user name") != std::string::npos);
    CHECK(auth::check_new_user_name("-x") != "");
    CHECK(auth::check_new_user_name("") != "");
}

TEST_CASE("registrations_per_hour and min_password_length: defaults, values, ranges") {
    const app::Config defaults = app::parse_config("", "empty.toml");
    CHECK(defaults.registrations_per_hour == 5);
    CHECK(defaults.min_password_length == 8);
    const app::Config set = app::parse_config("registrations_per_hour = 20\nmin_password_length = 12\n", "t.toml");
    CHECK(set.registrations_per_hour == 20);
    CHECK(set.min_password_length == 12);
    CHECK(config_error_of("registrations_per_hour = 0").find("registrations_per_hour: must be between 1 and 10000") == 0);
    CHECK(config_error_of("registrations_per_hour = 10001") != "");
    CHECK(config_error_of("min_password_length = 5").find("min_password_length: must be between 6 and 1024") == 0);
    CHECK(config_error_of("min_password_length = \"8\"").find("must be an integer") != std::string::npos);
    // The documented example file carries both keys with the default values.
    const app::Config example = app::load_config("etc/ferryd.toml");
    CHECK(example.registrations_per_hour == defaults.registrations_per_hour);
    CHECK(example.min_password_length == defaults.min_password_length);
    std::ifstream text("etc/ferryd.toml");
    std::ostringstream content;
    content << text.rdbuf();
    CHECK(content.str().find("\nregistrations_per_hour = 5\n") != std::string::npos);
    CHECK(content.str().find("\nmin_password_length = 8\n") != std::string::npos);
}

TEST_CASE("ferryd user add and passwd use min_password_length") {
    REQUIRE(auth::init_crypto());
    const testing::TempDir temp("registration");
    const std::string& dir = temp.path;
    app::Config config;
    config.root = dir + "/homes";
    config.users_file = dir + "/users.toml";
    config.min_password_length = 12;

    auto [short_code, short_err] = run_user_cli(config, {"add", "carol", "--password-stdin"}, "elevenchars\n", dir + "/cli");
    CHECK(short_code == 1);
    CHECK(short_err.find("at least 12") != std::string::npos);
    auto [ok_code, ok_err] = run_user_cli(config, {"add", "carol", "--password-stdin"}, "twelve chars\n", dir + "/cli");
    CHECK_MESSAGE(ok_code == 0, ok_err);
    auto [passwd_code, passwd_err] = run_user_cli(config, {"passwd", "carol", "--password-stdin"}, "only eleven\n", dir + "/cli");
    CHECK(passwd_code == 1);
    CHECK(passwd_err.find("at least 12") != std::string::npos);
}
