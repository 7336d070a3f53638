#include "net/tls_context.hpp"

#include "sys/atomic_file.hpp"
#include "sys/file.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstring>

namespace ferry::net {
namespace {

// TLS 1.2: forward secrecy (ECDHE) and AEAD only (Mozilla "intermediate" without DHE). AES-GCM
// first: AES-NI makes it the fastest, and it is what kTLS offloads everywhere.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* tls13_suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* key_exchange_groups = "X25519:P-256:P-384";

constexpr unsigned char session_id_context[] = "ferryd";
constexpr long session_lifetime_seconds = 24 * 3600;
// One ticket would do for FTP (data connections resume the control session, and OpenSSL servers
// accept a ticket more than once without early data); the second covers a client that keeps one
// for the control reconnect. More only costs bytes on every handshake.
constexpr std::size_t tls13_tickets = 2;

constexpr std::size_t tag_bytes = 16;
constexpr int self_signed_days = 3650;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
    void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct BnFree {
    void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

bool fail(std::string* error, const std::string& what) {
    if (error) *error = what;
    return false;
}

std::string hex(const unsigned char* bytes, std::size_t size, const char* separator) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string text;
    for (std::size_t i = 0; i < size; ++i) {
        if (i > 0) text += separator;
        text += digits[bytes[i] >> 4];
        text += digits[bytes[i] & 0xF];
    }
    return text;
}

std::string random_tag() {
    unsigned char bytes[tag_bytes];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return "";
    return hex(bytes, sizeof bytes, "");
}

// The tag a session carries, "" when none.
std::string session_tag(SSL_SESSION* session) {
    void* data = nullptr;
    std::size_t size = 0;
    if (!session || SSL_SESSION_get0_ticket_appdata(session, &data, &size) != 1 || !data) return "";
    return std::string(static_cast<const char*>(data), size);
}

// Gives a session created by a full handshake its tag; a resumed session keeps the one it came
// back with. Runs both from the ticket callback and from tag_control_session, whichever is first.
std::string tag_session(SSL_SESSION* session) {
    if (!session) return "";
    if (std::string existing = session_tag(session); !existing.empty()) return existing;
    std::string tag = random_tag();
    if (tag.empty() || SSL_SESSION_set1_ticket_appdata(session, tag.data(), tag.size()) != 1) return "";
    return tag;
}

// OpenSSL calls this as it is about to put a session into a ticket: the tag must be in it then.
int tag_new_ticket(SSL* ssl, void*) { return tag_session(SSL_get_session(ssl)).empty() ? 0 : 1; }

bool restrict_versions(SSL_CTX* ctx) {
    return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
           SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1;
}

bool set_algorithms(SSL_CTX* ctx) {
    return SSL_CTX_set_cipher_list(ctx, tls12_ciphers) == 1 && SSL_CTX_set_ciphersuites(ctx, tls13_suites) == 1 &&
           SSL_CTX_set1_groups_list(ctx, key_exchange_groups) == 1;
}

bool load_certificate_and_key(SSL_CTX* ctx, const std::string& cert_path, const std::string& key_path,
                              std::string* error) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1)
        return fail(error, "tls_cert " + cert_path + ": cannot load the certificate: " + drain_openssl_errors());
    if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
        // OpenSSL compares the key with the certificate while loading it.
        const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        return fail(error, "tls_key " + key_path +
                               (mismatch ? " does not belong to the certificate in " + cert_path + ": "
                                         : ": cannot load the private key: ") +
                               drain_openssl_errors());
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fail(error, "tls_key " + key_path + " does not belong to the certificate in " + cert_path + ": " +
                               drain_openssl_errors());
    return true;
}

void configure_sessions(SSL_CTX* ctx) {
    SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(ctx, session_lifetime_seconds);
    SSL_CTX_set_num_tickets(ctx, tls13_tickets);
    SSL_CTX_set_session_ticket_cb(ctx, tag_new_ticket, nullptr, nullptr);
}

// ---- self-signed certificate -------------------------------------------------------------------

bool add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (!extension) return false;
    const bool added = X509_add_ext(cert, extension, -1) == 1;
    X509_EXTENSION_free(extension);
    return added;
}

bool set_random_serial(X509* cert) {
    std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
    // 127 bits: positive in DER, unpredictable as CA/B rules ask.
    return serial && BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
           BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) != nullptr;
}

Certificate make_self_signed(EVP_PKEY* key) {
    Certificate cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 || !set_random_serial(cert.get())) return nullptr;
    // An hour back, for clients whose clock is a little behind.
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert.get()), self_signed_days, 0, nullptr))
        return nullptr;
    X509_NAME* name = X509_get_subject_name(cert.get());
    const auto* common_name = reinterpret_cast<const unsigned char*>("ferryd");
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, common_name, -1, -1, 0) != 1 ||
        X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key) != 1)
        return nullptr;
    const bool extended = add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") &&
                          add_extension(cert.get(), NID_key_usage, "critical,digitalSignature") &&
                          add_extension(cert.get(), NID_ext_key_usage, "serverAuth") &&
                          add_extension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") &&
                          add_extension(cert.get(), NID_subject_key_identifier, "hash");
    if (!extended || X509_sign(cert.get(), key, EVP_sha256()) <= 0) return nullptr;
    return cert;
}

template <class Write>
std::string to_pem(Write write) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || !write(bio.get())) return "";
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : "";
}

// mkdir -p, new folders 0700 (they hold a private key).
bool make_folders(const std::string& folder, std::string* error) {
    if (const Status err = ferry::make_folders(folder, 0700))
        return fail(error, folder + ": cannot create folder: " + err.message());
    return true;
}

// Temp file in the same folder, fsync, then a rename that fails instead of replacing.
bool write_new_file(const std::string& path, const std::string& content, std::uint32_t mode, std::string* error) {
    std::string why;
    if (create_file_atomically(path, content, mode, &why)) return fail(error, why);
    return true;
}

// 1 exists, 0 missing, -1 cannot tell (error filled in).
int file_exists(const std::string& path, std::string* error) {
    const auto info = sys::path_info(path);
    if (info) return 1;
    if (info.error() == Errc::not_found) return 0;
    fail(error, path + ": " + info.error().message());
    return -1;
}

bool generate_pair(const std::string& cert_path, const std::string& key_path, std::string* error) {
    Pkey key(EVP_EC_gen("P-256"));
    if (!key) return fail(error, "cannot generate an EC P-256 key: " + drain_openssl_errors());
    Certificate cert = make_self_signed(key.get());
    if (!cert) return fail(error, "cannot build the self-signed certificate: " + drain_openssl_errors());
    const std::string key_pem = to_pem([&](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    });
    const std::string cert_pem = to_pem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()) == 1; });
    if (key_pem.empty() || cert_pem.empty()) return fail(error, "cannot encode PEM: " + drain_openssl_errors());
    if (!make_folders(parent_folder(key_path), error) || !make_folders(parent_folder(cert_path), error)) return false;
    if (!write_new_file(key_path, key_pem, 0600, error)) return false;
    if (!write_new_file(cert_path, cert_pem, 0644, error)) {
        ::unlink(key_path.c_str());  // a key without its certificate would block the next attempt
        return false;
    }
    return true;
}

}  // namespace

void TlsContext::Free::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }

Result<TlsContext> TlsContext::server(const std::string& cert_pem_path, const std::string& key_pem_path,
                                      std::string* error, bool kernel_tls) {
    TlsContext context(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* ctx = context.native();
    if (!ctx || !restrict_versions(ctx) || !set_algorithms(ctx)) {
        fail(error, "cannot set up the TLS server context: " + drain_openssl_errors());
        return Result<TlsContext>::failure(Errc::io);
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 (kernel_tls ? SSL_OP_ENABLE_KTLS : 0));
    if (!load_certificate_and_key(ctx, cert_pem_path, key_pem_path, error)) return Result<TlsContext>::failure(Errc::invalid);
    configure_sessions(ctx);
    return context;
}

Result<TlsContext> TlsContext::client(bool verify_peer, std::string* error) {
    TlsContext context(SSL_CTX_new(TLS_client_method()));
    SSL_CTX* ctx = context.native();
    if (!ctx || !restrict_versions(ctx) || !set_algorithms(ctx)) {
        fail(error, "cannot set up the TLS client context: " + drain_openssl_errors());
        return Result<TlsContext>::failure(Errc::io);
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_ENABLE_KTLS);
    if (verify_peer) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            fail(error, "cannot load the system's trusted certificates: " + drain_openssl_errors());
            return Result<TlsContext>::failure(Errc::io);
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    return context;
}

bool ensure_self_signed(const std::string& cert_path, const std::string& key_path, std::string* error,
                        bool* generated) {
    if (generated) *generated = false;
    const int cert_exists = file_exists(cert_path, error);
    const int key_exists = file_exists(key_path, error);
    if (cert_exists < 0 || key_exists < 0) return false;
    if (cert_exists && key_exists) return true;
    if (cert_exists || key_exists) {
        const std::string& present = cert_exists ? cert_path : key_path;
        const std::string& missing = cert_exists ? key_path : cert_path;
        return fail(error, missing + " is missing but " + present +
                               " exists; supply both, or remove it to have a new self-signed pair generated");
    }
    if (!generate_pair(cert_path, key_path, error)) return false;
    if (generated) *generated = true;
    return true;
}

std::string certificate_fingerprint_sha256(X509* certificate) {
    if (!certificate) return "";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (X509_digest(certificate, EVP_sha256(), digest, &size) != 1) return "";
    return hex(digest, size, ":");
}

std::string tag_control_session(SSL* control) { return tag_session(SSL_get_session(control)); }

bool resumed_from(SSL* data, std::string_view control_tag) {
    if (control_tag.empty() || SSL_session_reused(data) != 1) return false;
    return session_tag(SSL_get_session(data)) == control_tag;
}

void offer_session_ticket(SSL* control) {
    if (SSL_version(control) == TLS1_3_VERSION) SSL_new_session_ticket(control);
}

std::string drain_openssl_errors() {
    std::string text;
    while (const unsigned long code = ERR_get_error()) {
        char line[256];
        ERR_error_string_n(code, line, sizeof line);
        if (!text.empty()) text += "; ";
        text += line;
    }
    return text.empty() ? "no details from OpenSSL" : text;
}

namespace {

std::string asn1_time_text(const ASN1_TIME* time) {
    struct tm parts {};
    if (!time || ASN1_TIME_to_tm(time, &parts) != 1) return "?";
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
    return text;
}

}  // namespace

std::string describe_certificate(const TlsContext& context) {
    X509* certificate = SSL_CTX_get0_certificate(context.native());
    if (!certificate) return "no certificate";
    char subject[256] = "";
    X509_NAME_oneline(X509_get_subject_name(certificate), subject, sizeof subject);
    return std::string(subject) + ", SHA-256 " + certificate_fingerprint_sha256(certificate) + ", valid until " +
           asn1_time_text(X509_get0_notAfter(certificate));
}

Status check_certificate_dates(const TlsContext& context, std::string* why) {
    X509* certificate = SSL_CTX_get0_certificate(context.native());
    if (!certificate) {
        if (why) *why = "no certificate";
        return Errc::invalid;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(certificate)) <= 0) {
        if (why) *why = "the certificate expired on " + asn1_time_text(X509_get0_notAfter(certificate));
        return Errc::invalid;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(certificate)) > 0) {
        if (why) *why = "the certificate is not valid before " + asn1_time_text(X509_get0_notBefore(certificate));
        return Errc::invalid;
    }
    return {};
}

}  // namespace ferry::net
