// What the protocol layer is told by the program: every setting a session reads, as values and
// enums. src/app fills it in from the TOML config (app/config.hpp), so the protocol never sees
// strings where it wants a mode, and never includes src/app.
#pragma once
#include "fs/hash.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::proto {

enum class TlsMode { off, optional, required };  // FTPS: not offered, offered, required for login and data
enum class Registration { closed, open };       // SITE REGISTER
// Whether a PROT P data connection must resume the control connection's TLS session. Clients built
// on Python's ssl, Go's crypto/tls, .NET's SslStream or Java's JSSE cannot; "optional" lets them in,
// still only from the control connection's own address.
enum class TlsSessionReuse { required, optional };

struct Settings {
    std::string root = "var/homes";                     // homes live beneath it
    std::string shared_root = "var/shared";             // shared folders live beneath it
    std::string banner = "Ferry FTP server ready.";
    std::uint16_t passive_port_min = 0;                 // 0, 0 = any port
    std::uint16_t passive_port_max = 0;
    std::string passive_address;                        // advertised in 227; "" = control socket's local IP
    std::chrono::seconds idle_timeout{300};
    std::chrono::seconds data_timeout{60};
    std::chrono::seconds login_timeout{60};
    std::chrono::seconds auth_cache_ttl{300};  // a verified password skips argon2id this long; 0 = off
    std::chrono::milliseconds folder_cache{2000};  // a home keeps used folders' handles this long; 0 = off
    std::chrono::seconds login_timeout_busy{10};
    unsigned max_sessions_unauthenticated = 256;
    unsigned max_sessions_per_user = 0;                 // logged in at once, per account; 0 = no limit
    std::chrono::milliseconds quota_wait{3000};         // shared quota full but held by others: wait this long
    std::chrono::milliseconds login_fail_delay{1000};
    unsigned max_login_failures = 3;
    std::size_t max_line = 4096;
    unsigned max_depth = 32;                            // path components below a home (MKD, STOR, RNTO)
    std::uint64_t default_quota = 100ull << 20;         // for accounts with quota 0
    std::uint64_t quota_drain_limit = 64ull << 20;
    Registration registration = Registration::closed;
    unsigned registrations_per_hour = 5;
    std::size_t min_password_length = 8;
    TlsMode tls = TlsMode::off;
    TlsSessionReuse tls_session_reuse = TlsSessionReuse::required;
    std::string bans_file = "var/bans.toml";            // where the defender's bans are kept
    unsigned max_hash_jobs_per_user = 2;                // HASH jobs of one user running at once
    unsigned max_file_requests_per_user = 64;           // file requests of one user on the I/O pool at once
    // Digests computed while a binary upload streams and kept with the file; empty = none (the
    // config file's default is MD5 and SHA-256, app/config.hpp).
    std::vector<fs::HashAlgo> upload_digests;
};

}  // namespace ferry::proto
