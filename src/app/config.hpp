// ferryd's configuration: a TOML file, or the embedded default when none is given.
// Relative paths are taken relative to the directory ferryd was started in.
#pragma once
#include "auth/defender.hpp"
#include "app/hook_spec.hpp"
#include "base/log.hpp"
#include "proto/settings.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ferry::app {

using proto::Registration;
using proto::TlsMode;
using proto::TlsSessionReuse;
enum class KtlsMode { automatic, off };            // "auto": kernel TLS where the kernel offers it
enum class LandlockMode { automatic, off, required };
enum class AccountsBackend { file, postgresql };

struct Config {
    std::vector<std::string> listen{"127.0.0.1:2121"};  // "addr:port", "[v6]:port"
    std::string root = "var/homes";                      // homes live beneath it
    // Shared folders (`ferryd folder`) live beneath it; never inside root. Unset: "shared" beside root.
    std::string shared_root = "var/shared";
    std::string users_file = "var/users.toml";
    // Where accounts and quota usage live: the users_file, or PostgreSQL shared by several nodes.
    AccountsBackend accounts = AccountsBackend::file;
    std::string postgresql;                              // libpq connection string ("host=/run/postgresql dbname=ferry")
    std::string node_name;                               // this node in the database; "" = the host name
    std::chrono::seconds reservation_ttl{30};            // a dead node's quota reservations expire after this
    std::chrono::milliseconds quota_wait{3000};          // quota full but held by other uploads: wait this long
    unsigned workers = 0;                                // reactor threads; 0 = number of cores
    unsigned pool_threads = 2;                           // worker pool (argon2id, hashing, scans)
    unsigned max_hash_jobs_per_user = 2;                 // HASH jobs of one user at once; more get 450
    unsigned io_threads = 32;                            // I/O pool: blocking file-system calls
    unsigned max_file_requests_per_user = 64;            // file requests of one user at once; more get 450
    std::vector<fs::HashAlgo> upload_digests{fs::HashAlgo::md5, fs::HashAlgo::sha256};  // while uploads stream; [] = none
    std::uint16_t passive_port_min = 0;                  // passive_ports = [min, max]; 0,0 = any
    std::uint16_t passive_port_max = 0;
    std::string passive_address;                         // advertised in 227; "" = control socket's local IP
    unsigned max_sessions = 2000;
    unsigned max_sessions_per_ip = 50;
    unsigned max_sessions_per_user = 0;                  // logged-in sessions of one account; 0 = no limit
    // Behind a TCP load balancer (HAProxy send-proxy / send-proxy-v2): every control connection
    // starts with a PROXY protocol header naming the client, and only proxy_trusted may send it.
    bool proxy_protocol = false;
    std::vector<std::string> proxy_trusted;              // the balancers' addresses or networks
    std::chrono::milliseconds proxy_header_timeout{5000};
    std::chrono::seconds idle_timeout{300};              // control connection without a command
    std::chrono::seconds data_timeout{60};               // data connection without progress / not opened
    std::chrono::seconds login_timeout{60};              // connected but not logged in
    std::chrono::seconds auth_cache_ttl{300};            // a verified password skips argon2id; 0 = off
    std::chrono::milliseconds folder_cache{2000};        // folder handles kept (fs::FolderCache); 0 = off
    unsigned max_sessions_unauthenticated = 256;         // connected, not logged in yet, at once
    std::chrono::seconds login_timeout_busy{10};         // login_timeout once 3/4 of those are taken
    std::chrono::milliseconds login_fail_delay{1000};    // before a 530 for a wrong password
    unsigned max_login_failures = 3;                     // then the connection is closed
    // The brute-force defender (auth/defender.hpp); ban_threshold = 0 turns it off.
    unsigned ban_threshold = 20;                         // failed logins of one address within ban_window
    std::chrono::seconds ban_window{600};
    std::chrono::seconds ban_time{600};                  // the first ban; each next one twice as long
    std::chrono::seconds ban_time_max{86400};
    unsigned account_lock_threshold = 100;               // failed logins of one account within ban_window
    std::vector<std::string> trusted_networks;           // never counted or banned
    std::string bans_file = "var/bans.toml";
    std::size_t max_line = 4096;                         // bytes in one command line
    unsigned max_depth = 32;                             // path components below a home (MKD, STOR, RNTO)
    std::chrono::seconds shutdown_grace{30};             // SIGTERM: running transfers get this long
    std::chrono::seconds accounts_check_interval{5};     // apply edits of users_file to sessions; 0 = off
    unsigned deleted_retention_days = 30;                // homes of deleted accounts in root/.deleted; 0 = keep
    std::string log_file;                                // "" = stderr
    LogFormat log_format = LogFormat::text;              // log_format: "text" or "json" (a line each)
    std::vector<HookSpec> hooks;                         // [[hook]]
    unsigned hook_concurrency = 4;                       // hooks running at once (programs and POSTs)
    unsigned hook_queue = 10000;                         // events held for the hooks; past it the oldest go
    std::string metrics_listen;                          // "addr:port" of GET /metrics; "" = off
    unsigned metrics_top_accounts = 20;                  // accounts (and folders) with quota series
    std::string xferlog;                                 // "" = off
    std::uint64_t default_quota = 100ull << 20;          // for accounts with quota 0
    std::uint64_t quota_drain_limit = 64ull << 20;       // over quota: bytes read and dropped before the 552
    Registration registration = Registration::closed;    // "closed" | "open"
    unsigned registrations_per_hour = 5;                 // open registration: accounts per client IP per hour
    std::size_t min_password_length = 8;                 // characters, for new accounts and new passwords
    TlsMode tls = TlsMode::off;                          // "off" | "optional" | "required"
    std::string tls_cert;
    std::string tls_key;
    TlsSessionReuse tls_session_reuse = TlsSessionReuse::required;
    KtlsMode ktls = KtlsMode::automatic;                 // "auto" (kernel TLS where offered) | "off"
    bool tls_self_signed = false;                        // create tls_cert/tls_key (self-signed) when missing
    std::vector<std::string> listen_implicit_tls;        // implicit FTPS listeners (TLS from the first byte)
    std::string banner = "Ferry FTP server ready.";
    std::string run_as;                                  // "user[:group]" to drop to after binding; "" = stay
    LandlockMode landlock = LandlockMode::automatic;     // "auto" | "off" | "required"
    bool demo_user = false;                              // create "demo" on first start (embedded default)
    std::string config_path;                             // not a key: the file this came from ("" = embedded)
};

// A folder ferryd writes in, with the key that names it (for messages).
struct NamedFolder {
    const char* key;
    std::string path;
};
// Where ferryd keeps its data: root, and the folders of users_file and bans_file.
std::vector<NamedFolder> data_folders(const Config& config);
// The folders of log_file and xferlog, where those are set.
std::vector<NamedFolder> log_folders(const Config& config);

// Thrown by load_config with a message that names the key: "passive_ports: min > max".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The spellings of the modes, as the config file has them ("required").
const char* mode_name(TlsMode mode);

// What the sessions are told, and the defender's rules.
proto::Settings session_settings(const Config& config);
auth::DefenderSettings defender_settings(const Config& config);

Config load_config(const std::string& path);
Config parse_config(const std::string& toml_text, const std::string& source_name);
// `make run` with no --config: 127.0.0.1:2121, ./var/, TLS optional with a generated certificate,
// and a demo user.
Config embedded_default();

}  // namespace ferry::app
