#include "client/options.hpp"

#include "base/decimal.hpp"
#include "base/log.hpp"
#include "client/bookmarks.hpp"
#include "client/errors.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iostream>
#include <string_view>

namespace ferry::client {
namespace {

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

ProgressMode parse_progress(std::string_view value) {
    if (value == "auto") return ProgressMode::automatic;
    if (value == "bar") return ProgressMode::bar;
    if (value == "plain") return ProgressMode::plain;
    if (value == "none") return ProgressMode::none;
    throw ClientError(cat("--progress: expected auto, bar, plain or none, not '", value, "'"));
}

void check_port(const std::string& port) {
    const auto value = parse_decimal(port);
    if (!value || *value == 0 || *value > 65535) throw ClientError(cat("not a port number: '", port, "'"));
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986 percent-decoding of the user and password parts ("p%40ss" -> "p@ss").
std::string percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        const int high = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
        const int low = high >= 0 ? hex_digit(text[i + 2]) : -1;
        if (low < 0) throw ClientError("bad percent-escape in the URL's user or password (write '%' as %25)");
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

// "user" or "user:password"; a password given here shows up in `ps` and the shell history.
void apply_userinfo(std::string_view userinfo, Options& options) {
    const auto colon = userinfo.find(':');
    options.user = percent_decoded(userinfo.substr(0, colon));
    if (colon == std::string_view::npos) return;
    options.url_password = percent_decoded(userinfo.substr(colon + 1));
    std::cerr << "ferry: warning: a password in the URL can be seen in `ps` and the shell history;"
                 " prefer FERRY_PASSWORD or --password-stdin\n";
}

// ftp://[user[:password]@]host[:port][/path]  ("[v6]" hosts allowed). A '/' or '@' inside the
// user or password is written %2F or %40, as in every URL.
void apply_url(std::string_view url, Options& options) {
    url.remove_prefix(6);
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    if (slash != std::string_view::npos) options.start_dir = std::string(url.substr(slash));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        apply_userinfo(authority.substr(0, at), options);
        authority.remove_prefix(at + 1);
    }
    options.port = "21";
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) throw ClientError(cat("bad IPv6 address in ", url));
        options.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (!authority.empty() && authority.front() == ':') options.port = std::string(authority.substr(1));
    } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
        options.host = std::string(authority.substr(0, colon));
        options.port = std::string(authority.substr(colon + 1));
    } else if (!authority.empty()) {
        options.host = std::string(authority);
    }
}

// "--name=value" or "--name value": the value, advancing i for the second form.
std::string option_value(std::string_view arg, std::string_view name, int argc, char** argv, int& i) {
    if (arg.size() > name.size() && arg[name.size()] == '=') return std::string(arg.substr(name.size() + 1));
    if (i + 1 >= argc) throw ClientError(cat(name, " needs a value"));
    return argv[++i];
}

bool is_option(std::string_view arg, std::string_view name) {
    return arg == name || (arg.rfind(name, 0) == 0 && arg.size() > name.size() && arg[name.size()] == '=');
}

// The options whose value is the next word (so that word is not taken for a bookmark).
bool takes_value(std::string_view arg) {
    for (std::string_view name : {"-s", "--server", "-P", "--port", "-u", "--user", "-c", "--command", "--hash",
                                  "--progress", "--timeout", "-j", "--jobs"})
        if (arg == name) return true;
    return false;
}

}  // namespace

std::optional<DigestAlgo> parse_digest_algo(std::string_view name) {
    const std::string n = lowercase(name);
    if (n == "md5") return DigestAlgo::md5;
    if (n == "sha1" || n == "sha-1") return DigestAlgo::sha1;
    if (n == "sha256" || n == "sha-256") return DigestAlgo::sha256;
    if (n == "sha512" || n == "sha-512") return DigestAlgo::sha512;
    return std::nullopt;
}

// A bare word (no option, URL or user@) names a bookmark; at most one.
std::optional<std::string> bookmark_named(int argc, char** argv) {
    std::optional<std::string> name;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.empty() || arg[0] == '-' || arg.rfind("ftp://", 0) == 0 || arg.find('@') != std::string_view::npos) {
            if (takes_value(arg)) ++i;
            continue;
        }
        if (name) throw ClientError(cat("two bookmarks given: '", *name, "' and '", arg, "'"));
        name = std::string(arg);
    }
    return name;
}

Options parse_options(int argc, char** argv, bool& show_help) {
    Options options;
    show_help = false;
    // The bookmark first, so that options on the command line override what it says.
    const auto bookmark = bookmark_named(argc, argv);
    if (bookmark) apply_bookmark(*bookmark, options);
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            show_help = true;
        } else if (arg == "-s" || is_option(arg, "--server")) {
            options.host = option_value(arg, arg == "-s" ? "-s" : "--server", argc, argv, i);
        } else if (arg == "-P" || is_option(arg, "--port")) {
            options.port = option_value(arg, arg == "-P" ? "-P" : "--port", argc, argv, i);
        } else if (arg == "-u" || is_option(arg, "--user")) {
            options.user = option_value(arg, arg == "-u" ? "-u" : "--user", argc, argv, i);
        } else if (arg == "-c" || is_option(arg, "--command")) {
            options.commands = option_value(arg, arg == "-c" ? "-c" : "--command", argc, argv, i);
        } else if (arg == "--tls") {
            options.tls = true;
        } else if (arg == "--insecure") {
            options.insecure = true;
        } else if (is_option(arg, "--progress")) {
            options.progress = parse_progress(option_value(arg, "--progress", argc, argv, i));
        } else if (is_option(arg, "--hash")) {
            const std::string value = option_value(arg, "--hash", argc, argv, i);
            const auto algo = parse_digest_algo(value);
            if (!algo) throw ClientError(cat("--hash: expected md5, sha1, sha256 or sha512, not '", value, "'"));
            options.digest = *algo;
        } else if (arg == "--resume" || arg == "--overwrite" || arg == "--skip") {
            options.answer = arg == "--resume" ? ResumeAnswer::resume
                             : arg == "--overwrite" ? ResumeAnswer::overwrite : ResumeAnswer::skip;
        } else if (arg == "--password-stdin") {
            options.password_stdin = true;
        } else if (arg == "-v" || arg == "--verbose") {
            options.trace = true;
        } else if (arg == "-j" || is_option(arg, "--jobs")) {
            options.parallel = parse_parallel(option_value(arg, arg == "-j" ? "-j" : "--jobs", argc, argv, i), "-j");
        } else if (is_option(arg, "--timeout")) {
            const std::string value = option_value(arg, "--timeout", argc, argv, i);
            const auto seconds = parse_decimal(value);
            if (!seconds || *seconds == 0 || *seconds > 86400)
                throw ClientError(cat("--timeout: expected seconds (1-86400), not '", value, "'"));
            options.timeout = Millis(static_cast<long long>(*seconds) * 1000);
        } else if (arg.rfind("ftp://", 0) == 0) {
            apply_url(arg, options);
        } else if (!arg.empty() && arg.back() == '@' && arg.size() > 1) {
            options.user = std::string(arg.substr(0, arg.size() - 1));
        } else if (bookmark && arg == *bookmark) {
            // applied above
        } else {
            throw ClientError(cat("unknown argument '", arg, "' (see --help)"));
        }
    }
    if (options.host.empty()) throw ClientError("no server given");
    check_port(options.port);
    return options;
}

unsigned parse_parallel(std::string_view value, std::string_view what) {
    const auto number = parse_decimal(value);
    if (!number || *number == 0 || *number > max_parallel)
        throw ClientError(cat(what, ": expected 1 to ", max_parallel, " transfers at once, not '", value, "'"));
    return static_cast<unsigned>(*number);
}

void print_usage(const char* program) {
    std::cout << "usage: " << program << " [options] [ftp://[user[:password]@]host[:port][/dir] | user@ | BOOKMARK]\n"
              << "  -s, --server HOST      server (default 127.0.0.1)\n"
              << "  -P, --port PORT        port (default 2121; ftp:// URLs default to 21)\n"
              << "  -u, --user NAME        log in as NAME (without a user: the menu)\n"
              << "  --tls                  AUTH TLS + PROT P; the certificate is verified\n"
              << "  --insecure             accept an unverified (self-signed) certificate\n"
              << "  -c \"cmd; cmd\"          run these commands and exit (else stdin when it is not a terminal)\n"
              << "  --progress=MODE        auto | bar | plain | none (auto: bar on a terminal)\n"
              << "  --hash ALGO            digest for verification: md5 (default), sha1, sha256, sha512\n"
              << "  --resume | --overwrite | --skip   answer the resume question without asking\n"
              << "  --password-stdin       read the password from the first line of stdin\n"
              << "                         (else $FERRY_PASSWORD, else ask without echo; a password in\n"
              << "                         the URL is taken too, but others can see it in `ps`)\n"
              << "  --timeout SECONDS      per network operation (default 30)\n"
              << "  -j, --jobs N           files at once in put -r, get -r, mput, mget and sync, each on\n"
              << "                         its own session (default 4; fewer when the server limits them)\n"
              << "  -v, --verbose          show the FTP conversation (passwords hidden)\n"
              << "BOOKMARK: a [bookmarks.NAME] table (host, port, user, tls, insecure, folder, hash, jobs) of\n"
              << "  " << client_config_path() << " (or $FERRY_CONFIG); passwords are never stored there\n"
              << "Exit status: 0 when every command succeeded, 1 otherwise, 2 for bad arguments.\n";
}

}  // namespace ferry::client
