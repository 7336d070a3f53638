#include "net/tls_context.hpp"

#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

using namespace ferry;
using net::TlsContext;
using testing::read_text;

namespace {

struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
    void operator()(X509* cert) const { X509_free(cert); }
};
using Session = std::unique_ptr<SSL_SESSION, SslFree>;

// A loopback listening socket on a free port.
struct Listener {
    int fd = -1;
    std::uint16_t port = 0;
    Listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd, 8) == 0);
        socklen_t size = sizeof address;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
        port = ntohs(address.sin_port);
    }
    ~Listener() { ::close(fd); }
};

int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    return fd;
}

struct ServerSide {
    bool handshake_ok = false;
    unsigned long error = 0;  // first OpenSSL error of a failed handshake
    int version = 0;
    const SSL_CIPHER* cipher = nullptr;
    std::string tag;           // tag_control_session, when asked to
    bool resumed = false;      // resumed_from(ssl, expected_tag)
};

struct ClientSide {
    bool handshake_ok = false;
    Session session;  // after the first byte from the server, so TLS 1.3 tickets are in it
    long verify_result = -1;
};

// The server half of one connection: handshake, optional tagging and reuse check, one byte each way.
ServerSide serve_one(const Listener& listener, SSL_CTX* ctx, bool tag_as_control, const std::string& expected_tag) {
    ServerSide result;
    const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return result;
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx));
    SSL_set_fd(ssl.get(), fd);
    ERR_clear_error();
    result.handshake_ok = SSL_accept(ssl.get()) == 1;
    if (!result.handshake_ok) {
        result.error = ERR_peek_error();
        ERR_clear_error();
    } else {
        result.version = SSL_version(ssl.get());
        result.cipher = SSL_get_current_cipher(ssl.get());
        if (tag_as_control) result.tag = net::tag_control_session(ssl.get());
        result.resumed = net::resumed_from(ssl.get(), expected_tag);
        char byte = 'k';
        SSL_write(ssl.get(), &byte, 1);
        SSL_read(ssl.get(), &byte, 1);  // the client is done with its side
        SSL_shutdown(ssl.get());
    }
    ::close(fd);
    return result;
}

// The client half: `prepare` may set options, a session to resume, a host to verify.
ClientSide connect_one(std::uint16_t port, SSL_CTX* ctx, const std::function<void(SSL*)>& prepare = {}) {
    ClientSide result;
    const int fd = connect_to(port);
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx));
    SSL_set_fd(ssl.get(), fd);
    if (prepare) prepare(ssl.get());
    result.handshake_ok = SSL_connect(ssl.get()) == 1;
    result.verify_result = SSL_get_verify_result(ssl.get());
    if (result.handshake_ok) {
        char byte = 0;
        SSL_read(ssl.get(), &byte, 1);
        result.session.reset(SSL_get1_session(ssl.get()));
        byte = 'c';
        SSL_write(ssl.get(), &byte, 1);
        SSL_shutdown(ssl.get());
    }
    ERR_clear_error();
    ::close(fd);
    return result;
}

struct Connection {
    ServerSide server;
    ClientSide client;
};

Connection run_connection(SSL_CTX* server_ctx, SSL_CTX* client_ctx, bool tag_as_control = false,
                          const std::string& expected_tag = "", const std::function<void(SSL*)>& prepare = {}) {
    Listener listener;
    Connection connection;
    std::thread server([&] { connection.server = serve_one(listener, server_ctx, tag_as_control, expected_tag); });
    connection.client = connect_one(listener.port, client_ctx, prepare);
    server.join();
    return connection;
}

struct Pair {
    testing::TempDir dir{"tls"};
    std::string cert = dir.path + "/tls/cert.pem";
    std::string key = dir.path + "/tls/key.pem";
    TlsContext server;
    TlsContext client;
    Pair() {
        std::string error;
        REQUIRE_MESSAGE(net::ensure_self_signed(cert, key, &error), error);
        auto made = TlsContext::server(cert, key, &error);
        REQUIRE_MESSAGE(made.ok(), error);
        server = std::move(*made);
        auto made_client = TlsContext::client(false, &error);
        REQUIRE_MESSAGE(made_client.ok(), error);
        client = std::move(*made_client);
    }
};

std::function<void(SSL*)> limit_to(int version, SSL_SESSION* resume = nullptr, bool no_tickets = false) {
    return [=](SSL* ssl) {
        SSL_set_max_proto_version(ssl, version);
        if (no_tickets) SSL_set_options(ssl, SSL_OP_NO_TICKET);
        if (resume) REQUIRE(SSL_set_session(ssl, resume) == 1);
    };
}

}  // namespace

TEST_CASE("a generated certificate serves TLS 1.3 and TLS 1.2 with ECDHE and AEAD") {
    Pair pair;
    const Connection tls13 = run_connection(pair.server.native(), pair.client.native());
    REQUIRE(tls13.server.handshake_ok);
    CHECK(tls13.client.handshake_ok);
    CHECK(tls13.server.version == TLS1_3_VERSION);

    const Connection tls12 = run_connection(pair.server.native(), pair.client.native(), false, "", limit_to(TLS1_2_VERSION));
    REQUIRE(tls12.server.handshake_ok);
    CHECK(tls12.server.version == TLS1_2_VERSION);
    CHECK(SSL_CIPHER_get_kx_nid(tls12.server.cipher) == NID_kx_ecdhe);
    CHECK(SSL_CIPHER_is_aead(tls12.server.cipher) == 1);

    const std::uint64_t options = SSL_CTX_get_options(pair.server.native());
    CHECK((options & SSL_OP_ENABLE_KTLS) != 0);
    CHECK((options & SSL_OP_NO_COMPRESSION) != 0);
    CHECK((options & SSL_OP_NO_RENEGOTIATION) != 0);
    CHECK(SSL_CTX_get_num_tickets(pair.server.native()) == 2);
}

TEST_CASE("a TLS 1.1 client is refused by the server") {
    Pair pair;
    std::unique_ptr<SSL_CTX, SslFree> old_client(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_security_level(old_client.get(), 0);
    REQUIRE(SSL_CTX_set_cipher_list(old_client.get(), "DEFAULT:@SECLEVEL=0") == 1);
    SSL_CTX_set_min_proto_version(old_client.get(), TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(old_client.get(), TLS1_1_VERSION);

    // The same client gets through to a server that still allows TLS 1.1: it really offers 1.1.
    std::unique_ptr<SSL_CTX, SslFree> lax_server(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_set_security_level(lax_server.get(), 0);
    SSL_CTX_set_cipher_list(lax_server.get(), "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(lax_server.get(), TLS1_VERSION);
    REQUIRE(SSL_CTX_use_certificate_chain_file(lax_server.get(), pair.cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(lax_server.get(), pair.key.c_str(), SSL_FILETYPE_PEM) == 1);
    const Connection control = run_connection(lax_server.get(), old_client.get());
    REQUIRE(control.server.handshake_ok);
    CHECK(control.server.version == TLS1_1_VERSION);

    const Connection refused = run_connection(pair.server.native(), old_client.get());
    CHECK_FALSE(refused.server.handshake_ok);
    CHECK_FALSE(refused.client.handshake_ok);
    CHECK(ERR_GET_REASON(refused.server.error) == SSL_R_UNSUPPORTED_PROTOCOL);
}

TEST_CASE("a data connection is recognised only when it resumed its own control connection's session") {
    Pair pair;
    struct Variant {
        const char* name;
        int version;
        bool no_tickets;
    };
    for (const Variant variant : {Variant{"TLS 1.3 tickets", TLS1_3_VERSION, false},
                                  Variant{"TLS 1.2 tickets", TLS1_2_VERSION, false},
                                  Variant{"TLS 1.2 session id cache", TLS1_2_VERSION, true}}) {
        CAPTURE(variant.name);
        SSL_CTX* server = pair.server.native();
        SSL_CTX* client = pair.client.native();
        const auto plain = limit_to(variant.version, nullptr, variant.no_tickets);
        const Connection control_a = run_connection(server, client, true, "", plain);
        const Connection control_b = run_connection(server, client, true, "", plain);
        REQUIRE(control_a.server.handshake_ok);
        REQUIRE(control_b.server.handshake_ok);
        REQUIRE(control_a.client.session);
        CHECK(control_a.server.version == variant.version);
        CHECK(control_a.server.tag.size() == 32);
        CHECK(control_a.server.tag != control_b.server.tag);

        SSL_SESSION* session_a = control_a.client.session.get();
        const auto resume_a = limit_to(variant.version, session_a, variant.no_tickets);
        const Connection data = run_connection(server, client, false, control_a.server.tag, resume_a);
        REQUIRE(data.server.handshake_ok);
        CHECK(data.server.resumed);

        // The same resumption presented for control connection B is not B's session.
        const Connection stolen = run_connection(server, client, false, control_b.server.tag, resume_a);
        REQUIRE(stolen.server.handshake_ok);
        CHECK_FALSE(stolen.server.resumed);

        // A fresh full handshake is not a resumption of anything.
        const Connection fresh = run_connection(server, client, false, control_a.server.tag, plain);
        REQUIRE(fresh.server.handshake_ok);
        CHECK_FALSE(fresh.server.resumed);

        // A data connection may resume again from the session it got on an earlier data connection.
        const auto resume_data = limit_to(variant.version, data.client.session.get(), variant.no_tickets);
        const Connection second = run_connection(server, client, false, control_a.server.tag, resume_data);
        CHECK(second.server.resumed);
    }
}

TEST_CASE("an empty tag or a session from another server context is never accepted") {
    Pair pair;
    Pair other;
    const Connection control = run_connection(pair.server.native(), pair.client.native(), true);
    REQUIRE(control.client.session);
    const auto resume = limit_to(TLS1_3_VERSION, control.client.session.get());
    CHECK_FALSE(run_connection(pair.server.native(), pair.client.native(), false, "", resume).server.resumed);
    // Another context cannot decrypt the ticket: a full handshake, not a resumption.
    const Connection elsewhere = run_connection(other.server.native(), pair.client.native(), false,
                                                control.server.tag, resume);
    REQUIRE(elsewhere.server.handshake_ok);
    CHECK_FALSE(elsewhere.server.resumed);
}

TEST_CASE("a verifying client accepts the generated certificate for localhost and 127.0.0.1 only") {
    Pair pair;
    std::string error;
    auto verifying = TlsContext::client(true, &error);
    REQUIRE_MESSAGE(verifying.ok(), error);
    // Not trusted yet: refused.
    CHECK_FALSE(run_connection(pair.server.native(), verifying->native()).client.handshake_ok);
    REQUIRE(SSL_CTX_load_verify_locations(verifying->native(), pair.cert.c_str(), nullptr) == 1);
    const auto host = [](const char* name) { return [=](SSL* ssl) { REQUIRE(SSL_set1_host(ssl, name) == 1); }; };
    const auto ip = [](SSL* ssl) { REQUIRE(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1") == 1); };
    const Connection by_name = run_connection(pair.server.native(), verifying->native(), false, "", host("localhost"));
    CHECK_MESSAGE(by_name.client.handshake_ok, X509_verify_cert_error_string(by_name.client.verify_result));
    CHECK(run_connection(pair.server.native(), verifying->native(), false, "", ip).client.handshake_ok);
    CHECK_FALSE(run_connection(pair.server.native(), verifying->native(), false, "", host("example.com")).client.handshake_ok);
}

TEST_CASE("ensure_self_signed writes a 0600 key and a ferryd certificate, and leaves existing files alone") {
    const testing::TempDir dir("tls");
    const std::string cert_path = dir.path + "/a/b/cert.pem";
    const std::string key_path = dir.path + "/a/b/key.pem";
    std::string error;
    bool generated = false;
    REQUIRE_MESSAGE(net::ensure_self_signed(cert_path, key_path, &error, &generated), error);
    CHECK(generated);
    struct stat key_stat {};
    REQUIRE(::stat(key_path.c_str(), &key_stat) == 0);
    CHECK((key_stat.st_mode & 0777) == 0600);
    CHECK(std::filesystem::directory_iterator(dir.path + "/a/b") != std::filesystem::directory_iterator());
    for (const auto& entry : std::filesystem::directory_iterator(dir.path + "/a/b"))
        CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);  // no leftovers

    FILE* file = std::fopen(cert_path.c_str(), "r");
    REQUIRE(file);
    std::unique_ptr<X509, SslFree> cert(PEM_read_X509(file, nullptr, nullptr, nullptr));
    std::fclose(file);
    REQUIRE(cert);
    char common_name[64] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, common_name, sizeof common_name);
    CHECK(std::string(common_name) == "ferryd");
    CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
    CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
    int days = 0, seconds = 0;
    REQUIRE(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert.get())) == 1);
    CHECK(days >= 3649);
    CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get())) == EVP_PKEY_EC);
    const std::string fingerprint = net::certificate_fingerprint_sha256(cert.get());
    CHECK(fingerprint.size() == 32 * 3 - 1);
    CHECK(fingerprint[2] == ':');
    CHECK(net::certificate_fingerprint_sha256(nullptr) == "");

    // A second call keeps both files byte for byte.
    const std::string cert_before = read_text(cert_path), key_before = read_text(key_path);
    REQUIRE(net::ensure_self_signed(cert_path, key_path, &error, &generated));
    CHECK_FALSE(generated);
    CHECK(read_text(cert_path) == cert_before);
    CHECK(read_text(key_path) == key_before);

    // Only one of the two present: refused, and the one present is not touched.
    std::filesystem::remove(key_path);
    CHECK_FALSE(net::ensure_self_signed(cert_path, key_path, &error, &generated));
    CHECK(error.find("key.pem is missing") != std::string::npos);
    CHECK(read_text(cert_path) == cert_before);
    CHECK_FALSE(std::filesystem::exists(key_path));
}

TEST_CASE("TlsContext::server explains a missing or mismatched key") {
    Pair pair;
    Pair other;
    std::string error;
    CHECK_FALSE(TlsContext::server(pair.cert, pair.dir.path + "/nope.pem", &error).ok());
    CHECK(error.find("nope.pem") != std::string::npos);
    CHECK_FALSE(TlsContext::server(pair.cert, other.key, &error).ok());
    CHECK(error.find("does not belong") != std::string::npos);
    CHECK_FALSE(TlsContext::server(pair.dir.path + "/missing-cert.pem", pair.key, &error).ok());
    CHECK(error.find("missing-cert.pem") != std::string::npos);
}
