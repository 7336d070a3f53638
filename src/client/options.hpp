// Command-line options of `ferry`.
#pragma once
#include "client/channel.hpp"

#include <optional>
#include <string>

namespace ferry::client {

enum class ProgressMode { automatic, bar, plain, none };
enum class DigestAlgo { md5, sha1, sha256, sha512 };
// A pre-given answer to the resume question; `ask` = ask on the terminal (or the batch default);
// `proven` = resume when the prefix is proven the same, else overwrite, never asking (what
// many-file commands and sync do unless told otherwise).
enum class ResumeAnswer { ask, proven, resume, overwrite, skip };

struct Options {
    std::string host = "127.0.0.1";
    std::string port = "2121";  // ferryd's default; ftp:// URLs without a port mean 21
    std::string user;            // empty: show the menu
    std::optional<std::string> url_password;  // ftp://user:password@host (percent-decoded)
    std::string start_dir;       // from ftp://host/path
    bool tls = false;
    bool insecure = false;
    std::optional<std::string> commands;  // -c "cmd; cmd"
    ProgressMode progress = ProgressMode::automatic;
    DigestAlgo digest = DigestAlgo::md5;
    ResumeAnswer answer = ResumeAnswer::ask;
    bool password_stdin = false;
    bool trace = false;
    Millis timeout{30000};
    unsigned parallel = 4;  // -j: data connections (sessions) for many-file commands
};

// Parses argv; throws ClientError with a message for the user on bad input. Sets `show_help`
// for -h/--help.
Options parse_options(int argc, char** argv, bool& show_help);
void print_usage(const char* program);

inline constexpr unsigned max_parallel = 32;
// -j's value: 1..max_parallel; throws ClientError naming `what` otherwise.
unsigned parse_parallel(std::string_view value, std::string_view what);

// "md5", "SHA-256", "sha256", ...
std::optional<DigestAlgo> parse_digest_algo(std::string_view name);

}  // namespace ferry::client
