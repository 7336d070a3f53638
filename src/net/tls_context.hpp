// TLS for FTPS (RFC 4217): the SSL_CTX the server and the client build their connections from, the
// self-signed certificate of a fresh install, and the check that a PROT P data connection resumed
// the TLS session of its own control connection.
//
// One server TlsContext per process, shared by every reactor thread (an SSL_CTX is thread-safe for
// SSL_new). It must be the same one for control and data connections: session tickets are
// encrypted with keys that live in the SSL_CTX, so a data connection accepted through another
// context could never resume the control connection's session.
#pragma once
#include "base/result.hpp"

#include <openssl/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ferry::net {

class TlsContext {
public:
    // Server side: TLS 1.2 and 1.3 only; ECDHE with AEAD ciphers for 1.2 (AES-GCM preferred, which
    // kTLS can take over); no compression, no renegotiation; SSL_OP_ENABLE_KTLS (SSL_sendfile works
    // where the kernel has the tls module); session tickets with 2 TLS 1.3 tickets per handshake, a
    // server session cache for TLS 1.2 clients without tickets, sessions valid for 24 hours (an FTP
    // control connection can last long, and its data connections must still resume it).
    // `cert_pem_path` may hold a chain (leaf first). On failure *error says which file and why.
    // `kernel_tls` = false leaves kTLS off even where the kernel has it (config `ktls = "off"`).
    static Result<TlsContext> server(const std::string& cert_pem_path, const std::string& key_pem_path,
                                     std::string* error, bool kernel_tls = true);
    // Client side: TLS 1.2 and 1.3 only. With verify_peer the peer's chain is checked against the
    // system's trust store; the caller still names the expected host per connection
    // (SSL_set1_host) and may add trust anchors with SSL_CTX_load_verify_locations(native(), ...).
    // Without verify_peer any certificate is accepted (show certificate_fingerprint_sha256 instead).
    static Result<TlsContext> client(bool verify_peer, std::string* error);

    TlsContext() = default;  // empty; what a failed Result holds
    SSL_CTX* native() const { return ctx_.get(); }
    explicit operator bool() const { return ctx_ != nullptr; }

private:
    struct Free {
        void operator()(SSL_CTX* ctx) const;
    };
    explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
    std::unique_ptr<SSL_CTX, Free> ctx_;
};

// The server's TlsContext as it is now. A reload (SIGHUP: a renewed certificate) replaces it for the
// connections that come next; a session keeps the one it started with for its whole life, because
// its data connections must resume the control connection's TLS session, whose tickets only that
// context's keys open. Thread-safe.
class CurrentTlsContext {
public:
    std::shared_ptr<const TlsContext> get() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void replace(std::shared_ptr<const TlsContext> next) {
        std::lock_guard lock(mutex_);
        current_.swap(next);
    }  // the old one goes when its last session does
    explicit operator bool() const { return get() != nullptr; }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const TlsContext> current_;
};

// The server certificate of `context`, for a log line: "CN=ferryd, SHA-256 AA:..., valid until
// 2036-12-01 10:00:00 UTC". Its dates checked: an error (with *why) when it has expired or is not
// valid yet, so a reload does not put such a certificate in the place of a good one.
std::string describe_certificate(const TlsContext& context);
Status check_certificate_dates(const TlsContext& context, std::string* why);

// When either file is missing: generates an EC P-256 key and a self-signed X.509 v3 certificate
// (CN "ferryd", SAN IP:127.0.0.1 and DNS:localhost, valid 10 years, serverAuth), creating missing
// parent folders (0700), and writes both atomically (temp file, fsync, rename that never replaces
// an existing file); the key with mode 0600, the certificate 0644.
// Returns true when both files exist afterwards; *generated (if given) says whether they were made
// now. Existing files are never modified: when only one of the two exists, nothing is written and
// the answer is false with *error explaining (a new key would not match an existing certificate).
bool ensure_self_signed(const std::string& cert_path, const std::string& key_path, std::string* error,
                        bool* generated = nullptr);

// "AA:BB:...": SHA-256 over the DER certificate, the form browsers and `openssl x509 -fingerprint
// -sha256` show. "" for nullptr.
std::string certificate_fingerprint_sha256(X509* certificate);

// ---- Session reuse for PROT P data connections -------------------------------------------------
// vsftpd's require_ssl_reuse, and what FileZilla, curl and lftp expect: a data connection is only
// accepted when it resumed the TLS session of the control connection that asked for it, so whoever
// races the client to the passive port cannot take over the transfer without that session's
// secrets.
//
// How: every session the server creates carries a random tag in its ticket application data
// (SSL_SESSION_set1_ticket_appdata; for TLS 1.2 session-id resumption the cached SSL_SESSION itself
// carries it). The ticket is encrypted and authenticated with the SSL_CTX's ticket keys, so a
// client cannot forge or change the tag; a resumed session comes back with the tag it was issued
// with, in TLS 1.3 (PSK) and in TLS 1.2 (tickets or session cache) alike. Sessions issued on a
// resumed connection keep the tag of the original, so a client that reconnects by resuming its old
// control session may use the old or the new tickets for data: both are its own.
//
// 1. Control connection: right after its handshake completed (SSL_accept / SSL_do_handshake
//    returned 1), call tag_control_session(control) once and keep the string with the session
//    ("" means no session: refuse PROT P data connections, or fall back to not checking).
// 2. Data connection: after its handshake completed, resumed_from(data, tag) must be true, or the
//    transfer is refused (e.g. "522 TLS session of data connection not resumed.") and the data
//    connection closed.
// Both must run on SSLs made from the same server TlsContext.
std::string tag_control_session(SSL* control);
bool resumed_from(SSL* data, std::string_view control_tag);
// 3. Control connection, after each data connection that passed 2: one more ticket (TLS 1.3 only,
//    where clients use each ticket once), sent with the next reply. It carries the same tag, since
//    it is issued for the control session itself.
void offer_session_ticket(SSL* control);

// The OpenSSL error queue of this thread as one line ("...: ...; ..."), then cleared. For messages.
std::string drain_openssl_errors();

}  // namespace ferry::net
