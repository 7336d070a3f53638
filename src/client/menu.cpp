#include "client/menu.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "client/errors.hpp"
#include "client/terminal.hpp"

#include <cstdlib>
#include <iostream>

namespace ferry::client {
namespace {

bool has_space(const std::string& text) { return text.find_first_of(" \t") != std::string::npos; }

// Asks for a new password twice; nullopt (with the reason shown) when unusable.
std::optional<std::string> new_password() {
    const auto first = ask_secret("password: ");
    if (!first) return std::nullopt;
    const auto second = ask_secret("password again: ");
    if (!second) return std::nullopt;
    if (*first != *second) {
        std::cout << "the passwords differ; nothing was created\n";
        return std::nullopt;
    }
    if (first->empty() || has_space(*first)) {
        std::cout << "the password must not be empty or contain spaces\n";
        return std::nullopt;
    }
    return first;
}

// "0.1G" -> bytes; empty -> the server's default (nullopt with ok = true).
std::optional<std::uint64_t> ask_quota(bool& ok) {
    ok = false;
    const auto text = ask_line("quota (like 0.1G or 500M; empty = server default): ");
    if (!text) return std::nullopt;
    if (text->empty()) {
        ok = true;
        return std::nullopt;
    }
    const auto bytes = parse_size(*text);
    if (!bytes) {
        std::cout << "not a size: '" << *text << "' (examples: 0.1G, 500M, 2048K)\n";
        return std::nullopt;
    }
    ok = true;
    return bytes;
}

bool yes(const std::optional<std::string>& answer) { return answer && (*answer == "y" || *answer == "yes"); }

// The server refused self-registration (502): an admin account may still create the user with
// SITE ADDUSER. True when the new account exists and is logged in.
bool create_through_admin(Session& session, const std::string& name, const std::string& password,
                          std::optional<std::uint64_t> quota) {
    if (!yes(ask_line("create it through an admin login (SITE ADDUSER)? [y/N] "))) return false;
    const auto admin = ask_line("admin name: ");
    if (!admin || admin->empty()) return false;
    const auto admin_password = ask_secret(cat("password for ", *admin, ": "));
    if (!admin_password) return false;
    session.login(*admin, *admin_password);
    try {
        session.add_user(name, password, quota);
    } catch (const ReplyError&) {
        session.log_out();  // back to the menu as nobody, not as the admin
        throw;
    }
    session.log_out();
    session.login(name, password);
    return true;
}

// True when the new account exists and is logged in.
bool create_user(Session& session) {
    const auto name = ask_line("name: ");
    if (!name || name->empty() || has_space(*name)) {
        if (name) std::cout << "the name must not be empty or contain spaces\n";
        return false;
    }
    const auto password = new_password();
    if (!password) return false;
    bool quota_ok = false;
    const auto quota = ask_quota(quota_ok);
    if (!quota_ok) return false;
    try {
        session.register_user(*name, *password, quota);
    } catch (const ReplyError& refused) {
        if (refused.code() != 502) throw;
        std::cerr << "error: " << refused.what() << "\n";
        return create_through_admin(session, *name, *password, quota);
    }
    session.login(*name, *password);
    return true;
}

bool log_in(Session& session) {
    const auto name = ask_line("name: ");
    if (!name || name->empty()) return false;
    const auto password = ask_secret("password: ");
    if (!password) return false;
    session.login(*name, *password);
    return true;
}

}  // namespace

std::string obtain_password(const Options& options, const std::string& user) {
    if (options.url_password) return *options.url_password;
    if (options.password_stdin) {
        const auto line = read_input_line();
        if (!line) throw ClientError("--password-stdin: stdin is empty");
        return *line;
    }
    if (const char* env = std::getenv("FERRY_PASSWORD"); env) return env;
    const auto typed = ask_secret(cat("password for ", user, ": "));
    if (!typed) throw ClientError("no password: no terminal to ask on (use --password-stdin or FERRY_PASSWORD)");
    return *typed;
}

bool run_menu(Session& session) {
    for (int round = 0; round < 100; ++round) {
        std::cout << "1. create user  2. log in  3. quit\n";
        const auto choice = ask_line("> ");
        if (!choice) return false;
        try {
            if (*choice == "1") {
                if (create_user(session)) return true;
            } else if (*choice == "2") {
                if (log_in(session)) return true;
            } else if (*choice == "3" || *choice == "q" || *choice == "quit") {
                return false;
            } else {
                std::cout << "please answer 1, 2 or 3\n";
            }
        } catch (const NetError&) {
            throw;
        } catch (const ClientError& refused) {
            std::cerr << "error: " << refused.what() << "\n";
        }
    }
    return false;
}

}  // namespace ferry::client
