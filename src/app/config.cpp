#include "app/config.hpp"

#include "app/hook_config.hpp"

#include "auth/defender.hpp"
#include "base/size.hpp"
#include "net/address.hpp"
#include "net/proxy_reader.hpp"
#include "sys/atomic_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace ferry::app {
namespace {

constexpr std::int64_t max_seconds = 365LL * 24 * 3600;  // sanity bound for every timeout

const char* type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        default: return "a date/time";
    }
}

// Everything about one key being read: its name (every message starts with it) and where it is.
struct Key {
    std::string_view name;
    const toml::node& node;
    const std::string& source;

    [[noreturn]] void fail(const std::string& what) const {
        throw ConfigError(std::string(name) + ": " + what + " (" + source + ":" +
                          std::to_string(node.source().begin.line) + ")");
    }

    std::int64_t integer(std::int64_t min, std::int64_t max) const {
        if (!node.is_integer()) fail(std::string("must be an integer, got ") + type_name(node));
        const std::int64_t value = *node.value<std::int64_t>();
        if (value < min || value > max)
            fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                 std::to_string(value));
        return value;
    }

    std::chrono::seconds seconds() const { return std::chrono::seconds(integer(1, max_seconds)); }

    std::string string() const {
        if (!node.is_string()) fail(std::string("must be a string, got ") + type_name(node));
        return *node.value<std::string>();
    }

    std::string non_empty_string() const {
        std::string value = string();
        if (value.empty()) fail("must not be empty");
        return value;
    }

    // A mode: one of the spellings, as its enum value.
    template <class Mode>
    Mode choice(std::initializer_list<std::pair<std::string_view, Mode>> choices) const {
        const std::string value = string();
        for (const auto& [name, mode] : choices)
            if (name == value) return mode;
        std::string expected;
        for (const auto& [name, mode] : choices) expected += (expected.empty() ? "\"" : ", \"") + std::string(name) + "\"";
        fail("must be one of " + expected + ", got \"" + value + "\"");
    }

    bool boolean() const {
        if (!node.is_boolean()) fail(std::string("must be true or false, got ") + type_name(node));
        return *node.value<bool>();
    }

    // Integer bytes or a size string ("500M", "unlimited").
    std::uint64_t size() const {
        if (node.is_integer()) return static_cast<std::uint64_t>(integer(0, INT64_MAX));
        if (!node.is_string()) fail(std::string("must be a size such as \"500M\" or an integer, got ") + type_name(node));
        const std::string text = *node.value<std::string>();
        auto bytes = parse_size(text);
        if (!bytes) fail("not a size: \"" + text + "\" (examples: 104857600, \"500M\", \"1.5G\", \"unlimited\")");
        return *bytes;
    }

    const toml::array& array() const {
        const toml::array* values = node.as_array();
        if (!values) fail(std::string("must be an array, got ") + type_name(node));
        return *values;
    }
};

bool is_ip_literal(const std::string& text, net::Family family) {
    const auto ip = net::Ip::parse(text);
    return ip && ip->family == family;
}

// "1.2.3.4:21" or "[::1]:21", literal addresses only (no name lookups at startup). Port 0 means
// "any free port", which the tests use.
std::string listen_problem(std::string_view entry) {
    const auto colon = entry.rfind(':');
    if (colon == std::string_view::npos) return "expected \"address:port\"";
    std::string_view host = entry.substr(0, colon);
    const std::string_view port = entry.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(std::string(port)) > 65535)
        return "port must be a number from 0 to 65535";
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        if (!is_ip_literal(std::string(host.substr(1, host.size() - 2)), net::Family::v6)) return "not an IPv6 address in [...]";
        return "";
    }
    if (!is_ip_literal(std::string(host), net::Family::v4))
        return "address must be a literal IPv4 address or [IPv6] (no host names)";
    return "";
}

std::vector<std::string> read_addresses(const Key& key) {
    std::vector<std::string> addresses;
    for (const toml::node& entry : key.array()) {
        const Key item{key.name, entry, key.source};
        std::string text = item.string();
        if (std::string problem = listen_problem(text); !problem.empty()) item.fail("\"" + text + "\": " + problem);
        addresses.push_back(std::move(text));
    }
    return addresses;
}

void read_listen(const Key& key, Config& config) {
    config.listen = read_addresses(key);
    if (config.listen.empty()) key.fail("must list at least one address");
}

void read_passive_ports(const Key& key, Config& config) {
    const toml::array& range = key.array();
    if (range.size() != 2) key.fail("must be [min, max], got " + std::to_string(range.size()) + " values");
    const Key min_key{key.name, *range.get(0), key.source};
    const Key max_key{key.name, *range.get(1), key.source};
    const auto min = min_key.integer(0, 65535);
    const auto max = max_key.integer(0, 65535);
    if (min == 0 && max == 0) {
        config.passive_port_min = config.passive_port_max = 0;
        return;
    }
    if (min < 1024 || max < 1024) key.fail("ports must be between 1024 and 65535 (or [0, 0] for any)");
    if (min > max) key.fail("min > max (" + std::to_string(min) + " > " + std::to_string(max) + ")");
    config.passive_port_min = static_cast<std::uint16_t>(min);
    config.passive_port_max = static_cast<std::uint16_t>(max);
}

std::string read_banner(const Key& key) {
    std::string banner = key.string();
    // It goes into a 220 reply line; a line break would let it forge further replies.
    if (banner.find_first_of("\r\n") != std::string::npos) key.fail("must be a single line");
    if (banner.size() > 512) key.fail("must be at most 512 bytes");
    return banner;
}

std::vector<std::string> read_networks(const Key& key) {
    std::vector<std::string> networks;
    for (const toml::node& entry : key.array()) {
        const Key item{key.name, entry, key.source};
        std::string text = item.string();
        if (!auth::Network::parse(text))
            item.fail("\"" + text + "\" is not an address or a network (\"192.0.2.0/24\", \"2001:db8::/48\")");
        networks.push_back(std::move(text));
    }
    return networks;
}

std::string read_node_name(const Key& key) {
    std::string name = key.string();
    if (name.size() > 64 || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
        key.fail("must be at most 64 letters, digits, '.', '_' or '-' (\"\" = the host name), got \"" + name + "\"");
    return name;
}

void read_proxy_protocol(const Key& key, Config& config) {
    config.proxy_protocol = key.boolean();
    if (config.proxy_protocol && !net::ProxyReader::supported())
        key.fail("the PROXY protocol is not available on this platform (Linux only)");
}

// ["md5", "sha-256"]: the digests every binary upload computes while it streams; [] = none.
void read_upload_digests(const Key& key, Config& config) {
    config.upload_digests.clear();
    for (const toml::node& entry : key.array()) {
        const Key item{key.name, entry, key.source};
        const std::string name = item.string();
        const auto algo = fs::parse_hash_algo(name);
        if (!algo) item.fail("\"" + name + "\" is not one of \"md5\", \"sha-1\", \"sha-256\", \"sha-512\", \"crc32\"");
        if (std::find(config.upload_digests.begin(), config.upload_digests.end(), *algo) == config.upload_digests.end())
            config.upload_digests.push_back(*algo);
    }
}

using KeyReader = std::function<void(const Key&, Config&)>;

// Every key the file may contain. Anything else is refused, so a typo never passes silently.
const std::map<std::string_view, KeyReader>& key_readers() {
    static const std::map<std::string_view, KeyReader> readers = {
        {"listen", read_listen},
        {"root", [](const Key& k, Config& c) { c.root = k.non_empty_string(); }},
        {"shared_root", [](const Key& k, Config& c) { c.shared_root = k.non_empty_string(); }},
        {"users_file", [](const Key& k, Config& c) { c.users_file = k.non_empty_string(); }},
        {"accounts", [](const Key& k, Config& c) {
             c.accounts = k.choice<AccountsBackend>({{"file", AccountsBackend::file}, {"postgresql", AccountsBackend::postgresql}});
         }},
        {"postgresql", [](const Key& k, Config& c) { c.postgresql = k.string(); }},
        {"node_name", [](const Key& k, Config& c) { c.node_name = read_node_name(k); }},
        {"reservation_ttl", [](const Key& k, Config& c) { c.reservation_ttl = std::chrono::seconds(k.integer(5, 3600)); }},
        {"quota_wait", [](const Key& k, Config& c) { c.quota_wait = std::chrono::milliseconds(k.integer(0, 60'000)); }},
        {"workers", [](const Key& k, Config& c) { c.workers = static_cast<unsigned>(k.integer(0, 256)); }},
        {"pool_threads", [](const Key& k, Config& c) { c.pool_threads = static_cast<unsigned>(k.integer(1, 256)); }},
        {"upload_digests", read_upload_digests},
        {"max_hash_jobs_per_user",
         [](const Key& k, Config& c) { c.max_hash_jobs_per_user = static_cast<unsigned>(k.integer(1, 64)); }},
        {"io_threads", [](const Key& k, Config& c) { c.io_threads = static_cast<unsigned>(k.integer(1, 1024)); }},
        {"max_file_requests_per_user",
         [](const Key& k, Config& c) { c.max_file_requests_per_user = static_cast<unsigned>(k.integer(1, 100'000)); }},
        {"passive_ports", read_passive_ports},
        {"passive_address",
         [](const Key& k, Config& c) {
             std::string address = k.string();
             // 227 replies can only carry IPv4; EPSV never sends an address.
             if (!address.empty() && !is_ip_literal(address, net::Family::v4))
                 k.fail("must be a literal IPv4 address (it is sent in 227 replies), got \"" + address + "\"");
             c.passive_address = std::move(address);
         }},
        {"max_sessions", [](const Key& k, Config& c) { c.max_sessions = static_cast<unsigned>(k.integer(1, 1'000'000)); }},
        {"max_sessions_per_ip",
         [](const Key& k, Config& c) { c.max_sessions_per_ip = static_cast<unsigned>(k.integer(1, 1'000'000)); }},
        {"idle_timeout", [](const Key& k, Config& c) { c.idle_timeout = k.seconds(); }},
        {"data_timeout", [](const Key& k, Config& c) { c.data_timeout = k.seconds(); }},
        {"login_timeout", [](const Key& k, Config& c) { c.login_timeout = k.seconds(); }},
        {"auth_cache_ttl", [](const Key& k, Config& c) { c.auth_cache_ttl = std::chrono::seconds(k.integer(0, 86'400)); }},
        {"max_sessions_unauthenticated",
         [](const Key& k, Config& c) { c.max_sessions_unauthenticated = static_cast<unsigned>(k.integer(1, 1'000'000)); }},
        {"login_timeout_busy", [](const Key& k, Config& c) { c.login_timeout_busy = k.seconds(); }},
        {"shutdown_grace", [](const Key& k, Config& c) { c.shutdown_grace = k.seconds(); }},
        {"accounts_check_interval",
         [](const Key& k, Config& c) { c.accounts_check_interval = std::chrono::seconds(k.integer(0, 3600)); }},
        {"deleted_retention",
         [](const Key& k, Config& c) { c.deleted_retention_days = static_cast<unsigned>(k.integer(0, 36500)); }},
        {"folder_cache_ms",
         [](const Key& k, Config& c) { c.folder_cache = std::chrono::milliseconds(k.integer(0, 60'000)); }},
        {"login_fail_delay_ms",
         [](const Key& k, Config& c) { c.login_fail_delay = std::chrono::milliseconds(k.integer(0, 60'000)); }},
        {"max_login_failures",
         [](const Key& k, Config& c) { c.max_login_failures = static_cast<unsigned>(k.integer(1, 1000)); }},
        {"ban_threshold", [](const Key& k, Config& c) { c.ban_threshold = static_cast<unsigned>(k.integer(0, 1'000'000)); }},
        {"ban_window", [](const Key& k, Config& c) { c.ban_window = k.seconds(); }},
        {"ban_time", [](const Key& k, Config& c) { c.ban_time = k.seconds(); }},
        {"ban_time_max", [](const Key& k, Config& c) { c.ban_time_max = k.seconds(); }},
        {"account_lock_threshold",
         [](const Key& k, Config& c) { c.account_lock_threshold = static_cast<unsigned>(k.integer(0, 1'000'000)); }},
        {"trusted_networks", [](const Key& k, Config& c) { c.trusted_networks = read_networks(k); }},
        {"proxy_protocol", read_proxy_protocol},
        {"proxy_trusted", [](const Key& k, Config& c) { c.proxy_trusted = read_networks(k); }},
        {"proxy_header_timeout",
         [](const Key& k, Config& c) { c.proxy_header_timeout = std::chrono::milliseconds(k.integer(100, 60'000)); }},
        {"max_sessions_per_user",
         [](const Key& k, Config& c) { c.max_sessions_per_user = static_cast<unsigned>(k.integer(0, 1'000'000)); }},
        {"bans_file", [](const Key& k, Config& c) { c.bans_file = k.non_empty_string(); }},
        {"max_line", [](const Key& k, Config& c) { c.max_line = static_cast<std::size_t>(k.integer(64, 1'048'576)); }},
        // At most 60: the usage scan counts 64 levels, and what it cannot see would escape the quota.
        {"max_depth", [](const Key& k, Config& c) { c.max_depth = static_cast<unsigned>(k.integer(1, 60)); }},
        {"log_file", [](const Key& k, Config& c) { c.log_file = k.string(); }},
        {"hook", [](const Key& k, Config& c) { c.hooks = read_hooks(k.node, k.source); }},
        {"hook_concurrency", [](const Key& k, Config& c) { c.hook_concurrency = static_cast<unsigned>(k.integer(1, 256)); }},
        {"hook_queue", [](const Key& k, Config& c) { c.hook_queue = static_cast<unsigned>(k.integer(1, 10'000'000)); }},
        {"metrics_listen", [](const Key& k, Config& c) {
             c.metrics_listen = k.string();
             if (!c.metrics_listen.empty() && !net::Address::parse(c.metrics_listen))
                 k.fail("\"" + c.metrics_listen + "\": expected an address and port, as \"127.0.0.1:9121\"");
         }},
        {"metrics_top_accounts",
         [](const Key& k, Config& c) { c.metrics_top_accounts = static_cast<unsigned>(k.integer(0, 1000)); }},
        {"log_format", [](const Key& k, Config& c) {
             c.log_format = k.choice<LogFormat>({{"text", LogFormat::text}, {"json", LogFormat::json}});
         }},
        {"xferlog", [](const Key& k, Config& c) { c.xferlog = k.string(); }},
        {"default_quota", [](const Key& k, Config& c) { c.default_quota = k.size(); }},
        {"registration", [](const Key& k, Config& c) {
             c.registration = k.choice<Registration>({{"open", Registration::open}, {"closed", Registration::closed}});
         }},
        {"registrations_per_hour",
         [](const Key& k, Config& c) { c.registrations_per_hour = static_cast<unsigned>(k.integer(1, 10'000)); }},
        {"min_password_length",
         [](const Key& k, Config& c) { c.min_password_length = static_cast<std::size_t>(k.integer(6, 1024)); }},
        {"tls", [](const Key& k, Config& c) {
             c.tls = k.choice<TlsMode>({{"off", TlsMode::off}, {"optional", TlsMode::optional}, {"required", TlsMode::required}});
         }},
        {"tls_session_reuse",
         [](const Key& k, Config& c) {
             c.tls_session_reuse = k.choice<TlsSessionReuse>(
                 {{"required", TlsSessionReuse::required}, {"optional", TlsSessionReuse::optional}});
         }},
        {"ktls", [](const Key& k, Config& c) { c.ktls = k.choice<KtlsMode>({{"auto", KtlsMode::automatic}, {"off", KtlsMode::off}}); }},
        {"quota_drain_limit", [](const Key& k, Config& c) { c.quota_drain_limit = k.size(); }},
        {"tls_cert", [](const Key& k, Config& c) { c.tls_cert = k.string(); }},
        {"tls_key", [](const Key& k, Config& c) { c.tls_key = k.string(); }},
        {"tls_self_signed", [](const Key& k, Config& c) { c.tls_self_signed = k.boolean(); }},
        {"listen_implicit_tls", [](const Key& k, Config& c) { c.listen_implicit_tls = read_addresses(k); }},
        {"banner", [](const Key& k, Config& c) { c.banner = read_banner(k); }},
        {"run_as", [](const Key& k, Config& c) { c.run_as = k.string(); }},
        {"landlock", [](const Key& k, Config& c) {
             c.landlock = k.choice<LandlockMode>(
                 {{"auto", LandlockMode::automatic}, {"off", LandlockMode::off}, {"required", LandlockMode::required}});
         }},
        {"demo_user", [](const Key& k, Config& c) { c.demo_user = k.boolean(); }},
    };
    return readers;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string unknown_key_message(std::string_view key) {
    std::string_view closest;
    std::size_t best = 3;  // only suggest near misses
    for (const auto& [known, reader] : key_readers()) {
        if (auto d = edit_distance(key, known); d < best) {
            best = d;
            closest = known;
        }
    }
    std::string message = std::string(key) + ": unknown key";
    if (!closest.empty()) message += " (did you mean \"" + std::string(closest) + "\"?)";
    return message;
}

// "<the folder holding root>/<name>": "/srv/ferry/homes" -> "/srv/ferry/shared".
std::string beside_root(std::string root, std::string_view name) {
    while (root.size() > 1 && root.ends_with('/')) root.pop_back();
    const std::string parent = parent_folder(root);
    return (parent == "/" ? "" : parent) + "/" + std::string(name);
}

// Whether two folders are the same or one lies inside the other, as far as the paths (made
// absolute, with symlinks that exist resolved) say.
bool folders_nest(const std::string& a, const std::string& b) {
    std::error_code ignored;
    const auto full = [&](const std::string& path) { return std::filesystem::weakly_canonical(std::filesystem::absolute(path, ignored), ignored); };
    const std::filesystem::path x = full(a), y = full(b);
    const auto inside = [](const std::filesystem::path& inner, const std::filesystem::path& outer) {
        auto o = outer.begin(), i = inner.begin();
        for (; o != outer.end() && i != inner.end(); ++o, ++i)
            if (*o != *i) break;
        return o == outer.end() || (std::next(o) == outer.end() && o->empty());  // "a/" ends with an empty part
    };
    return inside(x, y) || inside(y, x);
}

// Checks that involve more than one key.
void check_combination(const Config& config, const std::string& source) {
    if (config.tls != TlsMode::off && (config.tls_cert.empty() || config.tls_key.empty()))
        throw ConfigError(std::string("tls: \"") + mode_name(config.tls) + "\" needs tls_cert and tls_key (" + source + ")");
    if (config.ban_time_max < config.ban_time)
        throw ConfigError("ban_time_max: must not be shorter than ban_time (" + source + ")");
    if (!config.listen_implicit_tls.empty() && config.tls == TlsMode::off)
        throw ConfigError("listen_implicit_tls: needs tls = \"optional\" or \"required\" (" + source + ")");
    if (config.accounts == AccountsBackend::postgresql && config.postgresql.empty())
        throw ConfigError("accounts: \"postgresql\" needs postgresql, a libpq connection string (" + source + ")");
    if (config.proxy_protocol && config.proxy_trusted.empty())
        throw ConfigError("proxy_protocol: needs proxy_trusted, the balancers' addresses (" + source + ")");
    if (folders_nest(config.root, config.shared_root))
        throw ConfigError("shared_root: \"" + config.shared_root + "\" and root \"" + config.root +
                          "\" must not lie inside one another: a shared folder would be in someone's home (" + source + ")");
}

}  // namespace

const char* mode_name(TlsMode mode) {
    switch (mode) {
        case TlsMode::off: return "off";
        case TlsMode::optional: return "optional";
        case TlsMode::required: return "required";
    }
    return "?";
}

proto::Settings session_settings(const Config& config) {
    proto::Settings settings;
    settings.root = config.root;
    settings.shared_root = config.shared_root;
    settings.banner = config.banner;
    settings.passive_port_min = config.passive_port_min;
    settings.passive_port_max = config.passive_port_max;
    settings.passive_address = config.passive_address;
    settings.idle_timeout = config.idle_timeout;
    settings.data_timeout = config.data_timeout;
    settings.login_timeout = config.login_timeout;
    settings.auth_cache_ttl = config.auth_cache_ttl;
    settings.folder_cache = config.folder_cache;
    settings.login_timeout_busy = config.login_timeout_busy;
    settings.max_sessions_unauthenticated = config.max_sessions_unauthenticated;
    settings.max_sessions_per_user = config.max_sessions_per_user;
    settings.quota_wait = config.quota_wait;
    settings.login_fail_delay = config.login_fail_delay;
    settings.max_login_failures = config.max_login_failures;
    settings.max_line = config.max_line;
    settings.max_depth = config.max_depth;
    settings.default_quota = config.default_quota;
    settings.quota_drain_limit = config.quota_drain_limit;
    settings.registration = config.registration;
    settings.registrations_per_hour = config.registrations_per_hour;
    settings.min_password_length = config.min_password_length;
    settings.tls = config.tls;
    settings.tls_session_reuse = config.tls_session_reuse;
    settings.bans_file = config.bans_file;
    settings.max_hash_jobs_per_user = config.max_hash_jobs_per_user;
    settings.max_file_requests_per_user = config.max_file_requests_per_user;
    settings.upload_digests = config.upload_digests;
    return settings;
}

auth::DefenderSettings defender_settings(const Config& config) {
    return auth::DefenderSettings{.ban_threshold = config.ban_threshold ? config.ban_threshold : UINT32_MAX,
                                  .ban_window = config.ban_window,
                                  .ban_time = config.ban_time,
                                  .ban_time_max = config.ban_time_max,
                                  .account_lock_threshold = config.account_lock_threshold,
                                  .trusted_networks = config.trusted_networks};
}

Config parse_config(const std::string& toml_text, const std::string& source_name) {
    toml::table table;
    try {
        table = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        throw ConfigError(source_name + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
                          std::string(e.description()));
    }
    Config config;
    const auto& readers = key_readers();
    for (const auto& [key, node] : table) {
        auto reader = readers.find(key.str());
        if (reader == readers.end())
            throw ConfigError(unknown_key_message(key.str()) + " (" + source_name + ":" +
                              std::to_string(node.source().begin.line) + ")");
        reader->second(Key{key.str(), node, source_name}, config);
    }
    if (!table.contains("shared_root")) config.shared_root = beside_root(config.root, "shared");
    check_combination(config, source_name);
    return config;
}

Config load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError(path + ": read error");
    Config config = parse_config(std::move(text).str(), path);
    config.config_path = path;
    return config;
}

std::vector<NamedFolder> data_folders(const Config& config) {
    return {{"root", config.root},
            {"shared_root", config.shared_root},
            {"users_file", parent_folder(config.users_file)},
            {"bans_file", parent_folder(config.bans_file)}};
}

std::vector<NamedFolder> log_folders(const Config& config) {
    std::vector<NamedFolder> folders;
    if (!config.log_file.empty()) folders.push_back({"log_file", parent_folder(config.log_file)});
    if (!config.xferlog.empty()) folders.push_back({"xferlog", parent_folder(config.xferlog)});
    return folders;
}

Config embedded_default() {
    Config config;
    config.demo_user = true;
    // Clients may upgrade with AUTH TLS; the certificate is made (self-signed) on first start.
    config.tls = TlsMode::optional;
    config.tls_cert = "var/tls/cert.pem";
    config.tls_key = "var/tls/key.pem";
    config.tls_self_signed = true;
    // It listens on loopback only, so the client's "1. create user" may work out of the box.
    config.registration = Registration::open;
    return config;
}

}  // namespace ferry::app
