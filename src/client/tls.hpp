// TLS for the control and data connections (RFC 4217): one client context per run, certificate
// verification unless --insecure, and the server's fingerprint remembered on first use.
#pragma once
#include <memory>
#include <string>

#include <openssl/ssl.h>

namespace ferry::client {

struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

class TlsContext {
public:
    // verify = false accepts any certificate (self-signed); the fingerprint check still applies.
    explicit TlsContext(bool verify);
    SSL_CTX* get() const { return ctx_.get(); }
    bool verifies() const { return verify_; }

private:
    std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
    bool verify_;
};

// "AB:CD:..." SHA-256 of the peer's certificate; "" when there is none.
std::string peer_fingerprint(SSL* ssl);

// Trust on first use: the first time host:port is seen its fingerprint is shown and stored in
// $FERRY_KNOWN_SERVERS (default ~/.config/ferry/known_servers). A later different fingerprint is an
// error when the certificate was not verified by a CA (--insecure), a notice otherwise.
void check_fingerprint(const std::string& host_port, const std::string& fingerprint, bool ca_verified);

}  // namespace ferry::client
