#include "app/config.hpp"

#include "base/size.hpp"
#include "net/proxy_reader.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace ferry::app;

namespace {

// The message of the ConfigError that parsing `text` throws ("" if it does not throw).
std::string config_error(const std::string& text) {
    try {
        parse_config(text, "test.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("config defaults") {
    const Config config = parse_config("", "empty.toml");
    CHECK(config.listen == std::vector<std::string>{"127.0.0.1:2121"});
    CHECK(config.root == "var/homes");
    CHECK(config.users_file == "var/users.toml");
    CHECK(config.max_line == 4096);
    CHECK(config.default_quota == 100ull << 20);
    CHECK(config.tls == ferry::app::TlsMode::off);
    CHECK(config.registration == ferry::app::Registration::closed);
    CHECK_FALSE(config.demo_user);
}

TEST_CASE("embedded_default is the defaults plus the demo user") {
    const Config config = embedded_default();
    CHECK(config.demo_user);
    CHECK(config.listen == std::vector<std::string>{"127.0.0.1:2121"});
    CHECK(config.root == "var/homes");
    CHECK(config.tls == ferry::app::TlsMode::optional);
    CHECK(config.tls_self_signed);
    CHECK_FALSE(config.tls_cert.empty());
    CHECK(config.registration == ferry::app::Registration::open);  // loopback only: the client's "1. create user" works
}

TEST_CASE("shared_root: beside root unless set, and never inside it") {
    CHECK(parse_config("", "t.toml").shared_root == "var/shared");
    CHECK(parse_config("root = \"/srv/ferry/homes/\"", "t.toml").shared_root == "/srv/ferry/shared");
    CHECK(parse_config("root = \"/homes\"", "t.toml").shared_root == "/shared");
    CHECK(parse_config("root = \"/a\"\nshared_root = \"/b\"", "t.toml").shared_root == "/b");
    for (const char* text : {"root = \"/srv/h\"\nshared_root = \"/srv/h/shared\"", "root = \"/srv/h\"\nshared_root = \"/srv\"",
                             "root = \"/srv/h\"\nshared_root = \"/srv/h/\"", "shared_root = \"var/homes/x\""}) {
        CAPTURE(text);
        CHECK_THROWS_AS(parse_config(text, "t.toml"), ConfigError);
    }
    CHECK_NOTHROW(parse_config("root = \"/srv/h\"\nshared_root = \"/srv/hh\"", "t.toml"));
}

TEST_CASE("tls_session_reuse and quota_drain_limit") {
    const Config defaults = parse_config("", "empty.toml");
    CHECK(defaults.tls_session_reuse == ferry::app::TlsSessionReuse::required);
    CHECK(defaults.quota_drain_limit == 64ull << 20);
    const Config c = parse_config("tls_session_reuse = \"optional\"\nquota_drain_limit = \"1M\"\n", "t");
    CHECK(c.tls_session_reuse == ferry::app::TlsSessionReuse::optional);
    CHECK(c.quota_drain_limit == 1u << 20);
    CHECK(parse_config("quota_drain_limit = 0\n", "t").quota_drain_limit == 0);
    CHECK(config_error("tls_session_reuse = \"sometimes\"").starts_with("tls_session_reuse: must be one of"));
    CHECK(config_error("quota_drain_limit = \"lots\"").starts_with("quota_drain_limit: not a size"));
    const Config example = load_config("etc/ferryd.toml");
    CHECK(example.tls_session_reuse == defaults.tls_session_reuse);
    CHECK(example.quota_drain_limit == defaults.quota_drain_limit);
    CHECK(example.registration == ferry::app::Registration::closed);
}

TEST_CASE("ktls, run_as and landlock") {
    const Config defaults = parse_config("", "empty.toml");
    CHECK(defaults.ktls == ferry::app::KtlsMode::automatic);
    CHECK(defaults.run_as.empty());
    CHECK(defaults.landlock == ferry::app::LandlockMode::automatic);
    const Config c = parse_config("ktls = \"off\"\nrun_as = \"ftp:ftp\"\nlandlock = \"required\"\n", "t");
    CHECK(c.ktls == ferry::app::KtlsMode::off);
    CHECK(c.run_as == "ftp:ftp");
    CHECK(c.landlock == ferry::app::LandlockMode::required);
    CHECK(config_error("ktls = \"on\"").starts_with("ktls: must be one of"));
    CHECK(config_error("landlock = \"maybe\"").starts_with("landlock: must be one of"));
    CHECK(config_error("trusted_networks = [\"10.0.0.0/33\"]").starts_with("trusted_networks:"));
    CHECK(config_error("ban_time = 600\nban_time_max = 60").starts_with("ban_time_max:"));
    const Config example = load_config("etc/ferryd.toml");
    CHECK(example.ktls == ferry::app::KtlsMode::automatic);
    CHECK(example.landlock == ferry::app::LandlockMode::automatic);
    CHECK(example.run_as.empty());
    CHECK(example.ban_threshold == defaults.ban_threshold);
    CHECK(example.bans_file == defaults.bans_file);
    CHECK(example.max_sessions_unauthenticated == defaults.max_sessions_unauthenticated);
    CHECK(example.deleted_retention_days == defaults.deleted_retention_days);
}

TEST_CASE("implicit TLS listeners need TLS on") {
    CHECK(config_error("listen_implicit_tls = [\"127.0.0.1:990\"]").starts_with("listen_implicit_tls"));
    const Config c = parse_config("tls = \"optional\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ntls_self_signed = true\n"
                                  "listen_implicit_tls = [\"127.0.0.1:0\", \"[::1]:990\"]\n", "t");
    CHECK(c.listen_implicit_tls == std::vector<std::string>{"127.0.0.1:0", "[::1]:990"});
    CHECK(c.tls_self_signed);
}

TEST_CASE("every config key is parsed") {
    const Config c = parse_config(R"(
listen = ["0.0.0.0:21", "[::1]:2121"]
root = "/srv/ftp"
users_file = "/etc/ferry/users.toml"
workers = 4
pool_threads = 3
max_hash_jobs_per_user = 4
auth_cache_ttl = 0
upload_digests = ["sha-512", "MD5", "md5"]
passive_ports = [50000, 50100]
passive_address = "203.0.113.7"
max_sessions = 100
max_sessions_per_ip = 5
idle_timeout = 600
data_timeout = 30
login_timeout = 20
shutdown_grace = 10
login_fail_delay_ms = 250
max_login_failures = 5
max_line = 8192
log_file = "/var/log/ferryd.log"
xferlog = "/var/log/xferlog"
default_quota = "0.1G"
registration = "open"
tls = "required"
tls_cert = "cert.pem"
tls_key = "key.pem"
banner = "Hello"
demo_user = true
)",
                                  "full.toml");
    CHECK(c.listen == std::vector<std::string>{"0.0.0.0:21", "[::1]:2121"});
    CHECK(c.root == "/srv/ftp");
    CHECK(c.users_file == "/etc/ferry/users.toml");
    CHECK(c.workers == 4);
    CHECK(c.pool_threads == 3);
    CHECK(c.max_hash_jobs_per_user == 4);
    CHECK(c.upload_digests == std::vector<ferry::fs::HashAlgo>{ferry::fs::HashAlgo::sha512, ferry::fs::HashAlgo::md5});
    CHECK(parse_config("upload_digests = []", "t").upload_digests.empty());
    CHECK(parse_config("", "t").upload_digests ==
          std::vector<ferry::fs::HashAlgo>{ferry::fs::HashAlgo::md5, ferry::fs::HashAlgo::sha256});
    CHECK(c.auth_cache_ttl == std::chrono::seconds(0));
    CHECK(parse_config("", "t").auth_cache_ttl == std::chrono::seconds(300));
    CHECK(c.passive_port_min == 50000);
    CHECK(c.passive_port_max == 50100);
    CHECK(c.passive_address == "203.0.113.7");
    CHECK(c.max_sessions == 100);
    CHECK(c.max_sessions_per_ip == 5);
    CHECK(c.idle_timeout == std::chrono::seconds(600));
    CHECK(c.data_timeout == std::chrono::seconds(30));
    CHECK(c.login_timeout == std::chrono::seconds(20));
    CHECK(c.shutdown_grace == std::chrono::seconds(10));
    CHECK(c.login_fail_delay == std::chrono::milliseconds(250));
    CHECK(c.max_login_failures == 5);
    CHECK(c.max_line == 8192);
    CHECK(c.log_file == "/var/log/ferryd.log");
    CHECK(c.xferlog == "/var/log/xferlog");
    CHECK(c.default_quota == 107374182u);
    CHECK(c.registration == ferry::app::Registration::open);
    CHECK(c.tls == ferry::app::TlsMode::required);
    CHECK(c.tls_cert == "cert.pem");
    CHECK(c.tls_key == "key.pem");
    CHECK(c.banner == "Hello");
    CHECK(c.demo_user);
}

TEST_CASE("default_quota takes integers and unlimited") {
    CHECK(parse_config("default_quota = 12345", "t").default_quota == 12345u);
    CHECK(parse_config("default_quota = \"unlimited\"", "t").default_quota == ferry::unlimited_bytes);
    CHECK(parse_config("passive_ports = [0, 0]", "t").passive_port_max == 0);
}

TEST_CASE("an unknown key is an error naming it") {
    const std::string error = config_error("tls_crt = \"x.pem\"");
    CHECK(error.starts_with("tls_crt: unknown key"));
    CHECK(error.find("tls_cert") != std::string::npos);  // the suggestion
    CHECK(config_error("[section]\nx = 1").starts_with("section: unknown key"));
}

TEST_CASE("each bad value is an error that starts with its key") {
    const std::pair<const char*, const char*> cases[] = {
        {"listen = \"127.0.0.1:21\"", "listen"},
        {"listen = []", "listen"},
        {"listen = [\"localhost:21\"]", "listen"},
        {"listen = [\"127.0.0.1\"]", "listen"},
        {"listen = [\"127.0.0.1:70000\"]", "listen"},
        {"listen = [\"[::1:21\"]", "listen"},
        {"listen = [21]", "listen"},
        {"root = \"\"", "root"},
        {"root = 5", "root"},
        {"users_file = \"\"", "users_file"},
        {"workers = -1", "workers"},
        {"workers = \"4\"", "workers"},
        {"pool_threads = 0", "pool_threads"},
        {"max_hash_jobs_per_user = 0", "max_hash_jobs_per_user"},
        {"auth_cache_ttl = -1", "auth_cache_ttl"},
        {"auth_cache_ttl = 86401", "auth_cache_ttl"},
        {"upload_digests = [\"md4\"]", "upload_digests"},
        {"upload_digests = \"md5\"", "upload_digests"},
        {"passive_ports = [50000]", "passive_ports"},
        {"passive_ports = [100, 200]", "passive_ports"},
        {"passive_ports = [50100, 50000]", "passive_ports"},
        {"passive_ports = [50000, 70000]", "passive_ports"},
        {"passive_ports = \"50000-50100\"", "passive_ports"},
        {"passive_address = \"ftp.example.com\"", "passive_address"},
        {"max_sessions = 0", "max_sessions"},
        {"max_sessions_per_ip = 0", "max_sessions_per_ip"},
        {"idle_timeout = 0", "idle_timeout"},
        {"data_timeout = -5", "data_timeout"},
        {"login_timeout = 1.5", "login_timeout"},
        {"shutdown_grace = \"30s\"", "shutdown_grace"},
        {"login_fail_delay_ms = -1", "login_fail_delay_ms"},
        {"max_login_failures = 0", "max_login_failures"},
        {"max_line = 3", "max_line"},
        {"max_line = 2000000", "max_line"},
        {"log_file = false", "log_file"},
        {"xferlog = 1", "xferlog"},
        {"default_quota = \"lots\"", "default_quota"},
        {"default_quota = -1", "default_quota"},
        {"registration = \"maybe\"", "registration"},
        {"tls = \"on\"", "tls"},
        {"tls = \"required\"", "tls"},
        {"tls = \"optional\"\ntls_cert = \"c.pem\"", "tls"},
        {"tls_cert = 1", "tls_cert"},
        {"tls_key = []", "tls_key"},
        {"banner = \"two\\r\\nlines\"", "banner"},
        {"demo_user = \"yes\"", "demo_user"},
        {"max_sessions_per_user = -1", "max_sessions_per_user"},
        {"accounts = \"mysql\"", "accounts"},
        {"accounts = \"postgresql\"", "accounts"},
        {"node_name = \"a b\"", "node_name"},
        {"reservation_ttl = 1", "reservation_ttl"},
        {"quota_wait = 60001", "quota_wait"},
        {"proxy_protocol = \"v2\"", "proxy_protocol"},
        {"proxy_protocol = true", "proxy_protocol"},
        {"proxy_trusted = [\"balancer.example\"]", "proxy_trusted"},
        {"proxy_header_timeout = 10", "proxy_header_timeout"},
    };
    for (const auto& [text, key] : cases) {
        CAPTURE(text);
        const std::string error = config_error(text);
        CHECK(error.starts_with(std::string(key) + ": "));
    }
}

TEST_CASE("several nodes: the PostgreSQL store and the PROXY protocol") {
    if (!ferry::net::ProxyReader::supported()) {  // the Windows build: refused with the reason
        CHECK(config_error("proxy_protocol = true\nproxy_trusted = [\"::1\"]").find("not available on this platform") !=
              std::string::npos);
        return;
    }
    const Config c = parse_config("accounts = \"postgresql\"\npostgresql = \"host=/run/postgresql dbname=ferry\"\n"
                                  "node_name = \"ftp-a.1\"\nreservation_ttl = 12\nquota_wait = 250\n"
                                  "max_sessions_per_user = 4\nproxy_protocol = true\nproxy_trusted = [\"10.0.0.0/8\", \"::1\"]\n"
                                  "proxy_header_timeout = 800\n", "t");
    CHECK(c.accounts == AccountsBackend::postgresql);
    CHECK(c.postgresql == "host=/run/postgresql dbname=ferry");
    CHECK(c.node_name == "ftp-a.1");
    CHECK(c.reservation_ttl == std::chrono::seconds(12));
    CHECK(c.quota_wait == std::chrono::milliseconds(250));
    CHECK(c.max_sessions_per_user == 4);
    CHECK(c.proxy_protocol);
    CHECK(c.proxy_trusted == std::vector<std::string>{"10.0.0.0/8", "::1"});
    CHECK(c.proxy_header_timeout == std::chrono::milliseconds(800));
    const Config d = parse_config("", "t");
    CHECK(d.accounts == AccountsBackend::file);
    CHECK_FALSE(d.proxy_protocol);
    CHECK(d.max_sessions_per_user == 0);
    CHECK(config_error("proxy_protocol = true").find("needs proxy_trusted") != std::string::npos);
    CHECK(config_error("accounts = \"postgresql\"").find("needs postgresql") != std::string::npos);
}

TEST_CASE("a range error says the range and the value") {
    CHECK(config_error("max_line = 3") == "max_line: must be between 64 and 1048576, got 3 (test.toml:1)");
}

TEST_CASE("a TOML syntax error names the file and line") {
    const std::string error = config_error("root = \"a\"\nworkers = = 2\n");
    CHECK(error.starts_with("test.toml:2:"));
}

TEST_CASE("load_config reports a missing file") {
    CHECK_THROWS_WITH_AS(load_config("/nonexistent/ferryd.toml"),
                         doctest::Contains("/nonexistent/ferryd.toml: cannot read"), ConfigError);
}

TEST_CASE("etc/ferryd.toml loads and matches the built-in defaults") {
    // The unit tests run from the repository root (make test); the example must stay loadable.
    const Config example = load_config("etc/ferryd.toml");
    const Config defaults;
    CHECK(example.listen == defaults.listen);
    CHECK(example.root == defaults.root);
    CHECK(example.users_file == defaults.users_file);
    CHECK(example.max_line == defaults.max_line);
    CHECK(example.default_quota == defaults.default_quota);
    CHECK(example.idle_timeout == defaults.idle_timeout);
    CHECK(example.login_fail_delay == defaults.login_fail_delay);
    CHECK(example.banner == defaults.banner);
    CHECK(example.tls == defaults.tls);
}
