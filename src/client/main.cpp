// ferry: the line-mode FTP/FTPS client. See print_usage() and DESIGN.md "Client".
#include "client/errors.hpp"
#include "client/interrupt.hpp"
#include "client/menu.hpp"
#include "client/options.hpp"
#include "client/session.hpp"
#include "client/shell.hpp"
#include "client/terminal.hpp"
#include "sys/process.hpp"

#include <iostream>

namespace ferry::client {
namespace {

constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

// Connects and logs in (user given) or shows the menu. False: not logged in, nothing to run.
bool start_session(Session& session, const Options& options, bool& quit_from_menu) {
    session.connect();
    if (options.user.empty()) {
        quit_from_menu = !run_menu(session);
        return !quit_from_menu;
    }
    session.login(options.user, obtain_password(options, options.user));
    return true;
}

int run(const Options& options) {
    Session session(options);
    bool quit_from_menu = false;
    try {
        if (!start_session(session, options, quit_from_menu)) {
            session.quit();
            return 0;
        }
        std::cout << "logged in as " << session.user() << "\n";
        if (!options.start_dir.empty()) session.expect_ok("CWD " + options.start_dir, "cd " + options.start_dir);
    } catch (const ClientError& failed) {
        std::cerr << "error: " << failed.what() << "\n";
        session.quit();
        return exit_failed;
    }
    Shell shell(session, options);
    const int status = options.commands ? shell.run_batch(*options.commands) : shell.run_input();
    session.quit();
    return status;
}

}  // namespace
}  // namespace ferry::client

int main(int argc, char** argv) {
    using namespace ferry::client;
    ferry::sys::ignore_broken_pipe();  // a peer that hangs up is an error to report, not a death
    install_interrupt_handler();
    std::ios::sync_with_stdio(true);
    Options options;
    try {
        bool show_help = false;
        options = parse_options(argc, argv, show_help);
        if (show_help) {
            print_usage(argv[0]);
            return 0;
        }
    } catch (const ClientError& bad) {
        std::cerr << "ferry: " << bad.what() << "\n";
        return exit_usage;
    }
    return run(options);
}
