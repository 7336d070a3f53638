// ferryd: the Ferry FTP server. Runs in the foreground; `ferryd user ...` administers accounts.
#include "app/ban_cli.hpp"
#include "app/folder_cli.hpp"
#include "app/policy_cli.hpp"
#include "app/config.hpp"
#include "app/demo_setup.hpp"
#include "app/landlock.hpp"
#include "app/privileges.hpp"
#include "app/hook_post.hpp"
#include "app/hooks.hpp"
#include "app/metrics_endpoint.hpp"
#include "app/server.hpp"
#include "app/startup_checks.hpp"
#include "app/stores.hpp"
#include "app/user_cli.hpp"
#include "auth/password.hpp"
#include "base/log.hpp"
#include "sys/process.hpp"
#include "sys/time.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <filesystem>
#include <thread>
#include <vector>

namespace {

constexpr const char* kVersion = "ferryd 0.1.0";

void print_usage() {
    std::printf(
        "usage: ferryd [--config FILE]              run the server in the foreground\n"
        "       ferryd [--config FILE] user ...     manage accounts (ferryd user help)\n"
        "       ferryd [--config FILE] group ...    groups of accounts and their policy (ferryd group help)\n"
        "       ferryd [--config FILE] folder ...   shared folders, their quotas and grants (ferryd folder help)\n"
        "       ferryd [--config FILE] ban list|remove ADDRESS   the brute-force defender's bans\n"
        "       ferryd [--config FILE] db migrate   create or migrate the PostgreSQL schema (accounts = \"postgresql\")\n"
        "       ferryd [--config FILE] reload       Windows: what SIGHUP does on Linux (reopen the logs, reload the certificate)\n"
        "       ferryd --version | --help\n"
        "Without --config, the embedded default is used: 127.0.0.1:2121, homes under ./var/homes,\n"
        "accounts in ./var/users.toml, and a demo user created on first start.\n");
}

// Stop requests and log reopening (SIGTERM/SIGINT and SIGHUP here) are taken on this thread only,
// so no other thread is interrupted mid-call. A reopen request (logrotate, a closed terminal)
// never stops the server.
void wait_for_requests(ferry::app::Server& server) {
    using ferry::sys::ProcessRequest;
    std::string why;
    while (ferry::sys::ProcessRequests::wait(why) == ProcessRequest::reopen_logs) {
        server.reopen_logs();
        server.reload_tls();
    }
    ferry::log::info(ferry::cat("received ", why, ": stopping"));
    server.stop();
}

// landlock = "auto" | "off" | "required": the outcome is logged either way.
bool confine(const ferry::app::Config& config) {
    using ferry::app::LandlockMode;
    if (config.landlock == LandlockMode::off) {
        ferry::log::info("landlock: off (landlock = \"off\")");
        return true;
    }
    ferry::sys::load_time_zone();  // the time zone is read now: /etc/localtime is out of reach later
    const auto outcome = ferry::app::apply_landlock(ferry::app::landlock_paths(config));
    if (outcome.applied) {
        ferry::log::info(ferry::cat("landlock: ", outcome.message));
        return true;
    }
    if (config.landlock == LandlockMode::required) {
        ferry::log::error(ferry::cat("landlock: ", outcome.message, "; not starting (landlock = \"required\")"));
        return false;
    }
    ferry::log::warn(ferry::cat("landlock: not applied: ", outcome.message, " (landlock = \"auto\")"));
    return true;
}

// Everything that needs root happens first (binding port 21, reading a root-only TLS key, making
// files the run_as user will own); then the privileges go, then Landlock confines what is left.
// Both before the first thread starts, so every thread is confined.
// Which server `ferryd reload` means: the one started with the same config file.
std::string reload_key(const std::string& config_path) {
    if (config_path.empty()) return "(embedded default)";
    std::error_code ignored;
    return std::filesystem::absolute(config_path, ignored).lexically_normal().string();
}

int run_server(const ferry::app::Config& config, const std::string& config_path) {
    using namespace ferry::app;
    if (!prepare_folders(config)) return 1;
    remove_stale_temp_files(config);
    const bool file_accounts = config.accounts == AccountsBackend::file;
    if (file_accounts && !check_accounts_file(config)) return 2;
    if (const ferry::Status err = ferry::sys::raise_open_file_limit())
        ferry::log::warn(ferry::cat("cannot raise the open-file limit: ", err.message()));
    if (config.demo_user && file_accounts && !ensure_demo_user(config)) return 1;
    std::string error;
    const auto run_as = resolve_run_as(config.run_as, &error);
    if (!error.empty()) return ferry::log::error(error), 2;
    for (const auto* path : {&config.users_file, &config.bans_file}) hand_over_locked_file(config, *path);
    if (!run_as && ferry::sys::running_as_root())
        ferry::log::warn("running as root without run_as: set run_as = \"ftp-user\" (or User= in systemd)");
    // Before the listeners, Landlock and the pools: the helper holds none of them and keeps the
    // right to execute that ferryd gives up.
    std::unique_ptr<HookRunner> hook_runner;
    if (hooks_run_programs(config.hooks)) {
        hook_runner = HookRunner::start(run_as, &error);
        if (!hook_runner) return ferry::log::error(error), 1;
    }
    if (!config.hooks.empty() && !init_posting(&error)) return ferry::log::error(error), 1;
    auto listeners = bind_listeners(config);
    if (!listeners) return 1;
    bool tls_ok = true;
    auto tls = load_tls_context(config, &tls_ok);
    if (!tls_ok) return 1;
    if (run_as) {
        if (!drop_privileges(*run_as, &error)) return ferry::log::error(error), 1;
        ferry::log::info(ferry::cat("run_as: now running as ", run_as->user, " (uid ", run_as->uid, ", gid ", run_as->gid, ")"));
    }
    if (std::string problem = check_writable_folders(config); !problem.empty()) return ferry::log::error(problem), 1;
    if (!confine(config)) return 1;
    // After Landlock: the store's LISTEN thread is confined like every other.
    auto stores = open_stores(config, /*watch=*/true, &error);
    if (!stores) return ferry::log::error(ferry::cat("accounts: ", error, "; not starting")), 1;
    if (!file_accounts) ferry::log::info(ferry::cat("accounts: postgresql, node ", node_name(config)));
    std::unique_ptr<Hooks> hooks;  // outlives the server: its sessions hand it their events
    if (!config.hooks.empty()) {
        hooks = std::make_unique<Hooks>(config.hooks, config.hook_concurrency, config.hook_queue, node_name(config),
                                        std::move(hook_runner));
        ferry::log::info(ferry::cat("hooks: ", config.hooks.size(), " configured, ", config.hook_concurrency, " at once"));
    }
    Server server(config, std::move(*stores));
    server.use_hooks(hooks.get());
    if (tls) server.use_tls(std::move(*tls));
    server.open_listeners(std::move(*listeners));
    std::unique_ptr<MetricsEndpoint> metrics;
    if (!config.metrics_listen.empty()) {
        metrics = MetricsEndpoint::start(config.metrics_listen, [&server] { return metrics_text(server.scrape_inputs()); }, &error);
        if (!metrics) return ferry::log::error(error), 1;
        ferry::log::info(ferry::cat("metrics: GET http://", config.metrics_listen, "/metrics"));
    }
    ferry::sys::ProcessRequests::accept_reload_requests(reload_key(config_path));
    std::thread request_thread(wait_for_requests, std::ref(server));
    request_thread.detach();  // it ends with the process; run() returns only after a stop anyway
    server.run();
    return 0;
}

// "--config FILE" (or "--config=FILE") may stand before or after the `user` subcommand, as
// `ferryd user add alice --config etc/ferryd.toml`: it is taken out of `args` wherever it is.
bool take_config_option(std::vector<std::string>& args, std::string& path) {
    for (std::size_t i = 0; i < args.size();) {
        if (args[i].rfind("--config=", 0) == 0) {
            path = args[i].substr(9);
            args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
        } else if (args[i] == "--config") {
            if (i + 1 >= args.size()) return false;
            path = args[i + 1];
            args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
        } else {
            ++i;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string config_path;
    if (!take_config_option(args, config_path)) {
        std::fprintf(stderr, "ferryd: --config needs a file\n");
        return 2;
    }
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        if (args[i] == "--version") {
            std::printf("%s\n", kVersion);
            return 0;
        } else if (args[i] == "--help" || args[i] == "-h") {
            print_usage();
            return 0;
        } else {
            break;
        }
    }
    // Before any thread exists, so that every thread inherits it.
    ferry::sys::ProcessRequests::block();
    ferry::sys::ignore_broken_pipe();

    if (!ferry::auth::init_crypto()) {
        std::fprintf(stderr, "ferryd: libsodium failed to initialise\n");
        return 1;
    }
    ferry::app::Config config;
    try {
        config = config_path.empty() ? ferry::app::embedded_default() : ferry::app::load_config(config_path);
    } catch (const ferry::app::ConfigError& e) {
        std::fprintf(stderr, "ferryd: %s: %s\n", config_path.c_str(), e.what());
        return 2;
    }
    if (i < args.size() && args[i] == "reload") {
        std::string error;
        if (ferry::sys::send_reload_request(reload_key(config_path), &error)) {
            std::printf("ferryd reload: told the server to reopen its logs and reload its certificate\n");
            return 0;
        }
        std::fprintf(stderr, "ferryd reload: %s\n", error.c_str());
        return 1;
    }
    if (i < args.size() && args[i] == "db")
        return ferry::app::run_db_command(config, std::vector<std::string>(args.begin() + i + 1, args.end()));
    if (i < args.size() && args[i] == "group")
        return ferry::app::run_group_command(config, std::vector<std::string>(args.begin() + i + 1, args.end()));
    if (i < args.size() && args[i] == "folder")
        return ferry::app::run_folder_command(config, std::vector<std::string>(args.begin() + i + 1, args.end()));
    if (i < args.size() && args[i] == "ban")
        return ferry::app::run_ban_command(config, std::vector<std::string>(args.begin() + i + 1, args.end()));
    if (i < args.size() && args[i] == "user") {
        ferry::sys::ProcessRequests::unblock();  // Ctrl-C at a password prompt should work
        return ferry::app::run_user_command(config, std::vector<std::string>(args.begin() + i + 1, args.end()));
    }
    if (i < args.size()) {
        std::fprintf(stderr, "ferryd: unknown argument \"%s\"\n", args[i].c_str());
        print_usage();
        return 2;
    }
    ferry::log::set_format(config.log_format);
    if (!ferry::log::open(config.log_file)) {
        std::fprintf(stderr, "ferryd: log_file: cannot open %s: %s\n", config.log_file.c_str(), std::strerror(errno));
        return 1;
    }
    return run_server(config, config_path);
}
