#include "client/tls.hpp"

#include "base/log.hpp"
#include "client/channel.hpp"
#include "client/errors.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace ferry::client {

TlsContext::TlsContext(bool verify) : ctx_(SSL_CTX_new(TLS_client_method())), verify_(verify) {
    if (!ctx_) throw ClientError(cat("TLS setup: ", openssl_errors()));
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    // Servers often close data connections without close_notify; the 226 reply and the digest
    // check are what prove a transfer complete, so a bare EOF is read as end of data.
    SSL_CTX_set_options(ctx_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    // No client-side session cache: data connections are handed the control connection's session
    // explicitly (SSL_set_session), and OpenSSL never looks sessions up in a client cache. Worse,
    // with the cache on, a TLS 1.3 client drops a session from it after resuming it once (tickets
    // are meant to be single-use), which marks that SSL_SESSION not resumable: the second data
    // connection of a session then did a full handshake and ferryd refused it with 522.
    SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_OFF);
    if (verify) {
        SSL_CTX_set_default_verify_paths(ctx_.get());
        SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    }
}

std::string peer_fingerprint(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return "";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const int ok = X509_digest(cert, EVP_sha256(), md, &len);
    X509_free(cert);
    if (!ok) return "";
    std::string text;
    for (unsigned int i = 0; i < len; ++i) {
        char byte[4];
        std::snprintf(byte, sizeof byte, i ? ":%02X" : "%02X", md[i]);
        text += byte;
    }
    return text;
}

namespace {

std::filesystem::path known_servers_file() {
    if (const char* path = std::getenv("FERRY_KNOWN_SERVERS"); path && *path) return path;
    if (const char* config = std::getenv("XDG_CONFIG_HOME"); config && *config)
        return std::filesystem::path(config) / "ferry" / "known_servers";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : ".") / ".config" / "ferry" / "known_servers";
}

// The stored fingerprint of host_port, "" when unknown. Lines are "host:port FINGERPRINT".
std::string stored_fingerprint(const std::filesystem::path& file, const std::string& host_port) {
    std::ifstream in(file);
    std::string name, fingerprint;
    for (int line = 0; line < 100000 && in >> name >> fingerprint; ++line) {
        if (name == host_port) return fingerprint;
    }
    return "";
}

void remember(const std::filesystem::path& file, const std::string& host_port, const std::string& fingerprint) {
    std::error_code ignored;
    std::filesystem::create_directories(file.parent_path(), ignored);
    std::ofstream out(file, std::ios::app);
    out << host_port << ' ' << fingerprint << '\n';
    if (!out) std::cerr << "note: could not remember the fingerprint in " << file.string() << "\n";
}

}  // namespace

void check_fingerprint(const std::string& host_port, const std::string& fingerprint, bool ca_verified) {
    if (fingerprint.empty()) return;
    const auto file = known_servers_file();
    const std::string known = stored_fingerprint(file, host_port);
    if (known.empty()) {
        std::cerr << "server certificate for " << host_port << " (first use), SHA-256 fingerprint:\n  "
                  << fingerprint << "\n";
        remember(file, host_port, fingerprint);
        return;
    }
    if (known == fingerprint) return;
    if (!ca_verified)
        throw NetError(cat("the certificate of ", host_port, " CHANGED (was ", known, ", now ", fingerprint,
                           "). If that is expected, remove its line from ", file.string()));
    std::cerr << "note: the certificate of " << host_port << " changed (it is signed by a trusted CA)\n";
}

}  // namespace ferry::client
