// TLS inside net::Stream over real loopback sockets: Streams on one reactor, or a Stream against a
// blocking OpenSSL client in another thread.
#include "net/address.hpp"
#include "net/linux/socket_stream.hpp"
#include "net/listener.hpp"
#include "net/reactor.hpp"
#include "net/stream.hpp"
#include "net/tls_context.hpp"

#include "support/loopback.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace ferry;
using namespace ferry::net;
using namespace ferry::testing;
using namespace std::chrono_literals;

namespace {

// The watchdog for run_until_stopped in these tests (twice the plain loopback tests' default).
constexpr std::chrono::milliseconds tls_limit = 20s;

// A self-signed certificate in a temp folder and the two contexts built on it.
struct Contexts {
    TempDir dir{"tls-stream"};
    TlsContext server;
    TlsContext client;
    Contexts() {
        std::string error;
        const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
        REQUIRE_MESSAGE(ensure_self_signed(cert, key, &error), error);
        auto made_server = TlsContext::server(cert, key, &error);
        REQUIRE_MESSAGE(made_server.ok(), error);
        server = std::move(*made_server);
        auto made_client = TlsContext::client(false, &error);
        REQUIRE_MESSAGE(made_client.ok(), error);
        client = std::move(*made_client);
    }
};

IoDone record_only(Outcome& outcome) {
    return [&outcome](Error err, std::uint64_t n) { outcome = {true, err, n}; };
}

struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, SslFree>;

// A blocking OpenSSL client on the peer socket, for a std::thread.
struct BlockingClient {
    Socket fd;
    SslPtr ssl;
    BlockingClient(Socket socket, const TlsContext& context) : fd(std::move(socket)), ssl(SSL_new(context.native())) {
        SSL_set_fd(ssl.get(), fd.get());
    }
    bool handshake() { return SSL_connect(ssl.get()) == 1; }
    // SSL_read until `expected` bytes, EOF or an error; *last_error gets SSL_get_error of the end.
    std::vector<char> read(std::size_t expected, std::size_t chunk = 1 << 20, int* last_error = nullptr) {
        std::vector<char> got;
        std::vector<char> buffer(chunk);
        while (got.size() < expected || last_error) {
            const int n = SSL_read(ssl.get(), buffer.data(), static_cast<int>(buffer.size()));
            if (n <= 0) {
                if (last_error) *last_error = SSL_get_error(ssl.get(), n);
                break;
            }
            got.insert(got.end(), buffer.begin(), buffer.begin() + n);
        }
        ERR_clear_error();
        return got;
    }
    bool write(const std::vector<char>& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            const int chunk = static_cast<int>(std::min<std::size_t>(data.size() - done, 1 << 20));
            const int n = SSL_write(ssl.get(), data.data() + done, chunk);
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }
};

// How a ServerWithClient connects: the server's TlsOptions and what its SSL and the client's may
// change before the handshake.
struct Setup {
    TlsOptions options;
    std::function<void(SSL*)> prepare_server;
    std::function<void(SSL*)> prepare_client;
};

// A server-role Stream whose handshake with a blocking client (in `client_work`'s thread) is done.
struct ServerWithClient {
    Reactor& reactor;
    std::unique_ptr<SocketStream> stream;
    std::future<std::vector<char>> client;

    // `prepare` may configure the server's SSL before the handshake.
    template <class Work>
    ServerWithClient(Reactor& r, const Contexts& contexts, Work client_work,
                     const std::function<void(SSL*)>& prepare = {})
        : ServerWithClient(r, contexts, client_work, Setup{{}, prepare, {}}) {}

    template <class Work>
    ServerWithClient(Reactor& r, const Contexts& contexts, Work client_work, const Setup& setup)
        : reactor(r) {
        auto pair = tcp_pair(true);
        stream = std::make_unique<SocketStream>(reactor, std::move(pair.ours));
        client = std::async(std::launch::async, [&contexts, fd = std::move(pair.theirs), client_work,
                                                 prepare_client = setup.prepare_client]() mutable {
            BlockingClient peer(std::move(fd), contexts.client);
            if (prepare_client) prepare_client(peer.ssl.get());
            if (!peer.handshake()) return std::vector<char>{};
            return client_work(peer);
        });
        const auto& prepare = setup.prepare_server;
        Outcome handshake;
        stream->start_tls(contexts.server, TlsRole::server, record(handshake, reactor), setup.options);
        if (prepare) prepare(stream->ssl());
        REQUIRE(run_until_stopped(reactor, tls_limit));
        REQUIRE(handshake.err == 0);
    }
};

}  // namespace

TEST_CASE("start_tls: a server Stream and a client Stream shake hands and talk both ways") {
    Contexts contexts;
    Reactor reactor;
    auto pair = tcp_pair(false);
    SocketStream server(reactor, std::move(pair.ours));
    SocketStream client(reactor, std::move(pair.theirs));
    CHECK(server.ssl() == nullptr);
    CHECK_FALSE(server.ktls_send());

    Outcome server_done, client_done, busy;
    int finished = 0;
    auto both = [&](Outcome& outcome) {
        return [&](Error err, std::uint64_t n) {
            outcome = {true, err, n};
            if (++finished == 2) reactor.stop();
        };
    };
    server.start_tls(contexts.server, TlsRole::server, both(server_done));
    client.start_tls(contexts.client, TlsRole::client, both(client_done));
    std::vector<char> buffer(64);
    server.read_some(buffer, record_only(busy));  // refused while the handshake runs
    CHECK_FALSE(server_done.called);              // completions come from the loop only
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(server_done.err == 0);
    CHECK(client_done.err == 0);
    CHECK(busy.err == EBUSY);
    REQUIRE(server.ssl() != nullptr);
    CHECK(SSL_is_server(server.ssl()) == 1);
    CHECK(SSL_is_server(client.ssl()) == 0);
    CHECK(SSL_version(server.ssl()) == TLS1_3_VERSION);

    Outcome again;
    server.start_tls(contexts.server, TlsRole::server, record(again, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(again.err == EALREADY);

    for (auto [from, to] : {std::pair{&server, &client}, std::pair{&client, &server}}) {
        const std::string text = from == &server ? "220 from the server" : "USER from the client";
        Outcome wrote, got;
        from->write_all(text, record_only(wrote));
        to->read_some(buffer, record(got, reactor));
        REQUIRE(run_until_stopped(reactor, tls_limit));
        CHECK(wrote.err == 0);
        CHECK(got.err == 0);
        CHECK(std::string(buffer.data(), got.n) == text);
    }
}

TEST_CASE("write_all of 16 MiB over TLS arrives intact at a blocking OpenSSL client") {
    Contexts contexts;
    Reactor reactor;
    const auto data = pattern(16 << 20);
    ServerWithClient side(reactor, contexts, [&](BlockingClient& peer) { return peer.read(data.size(), 100000); });
    Outcome done;
    side.stream->write_all(data, record(done, reactor));
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(done.err == 0);
    CHECK(done.n == data.size());
    CHECK(side.client.get() == data);
}

TEST_CASE("send_file over TLS sends a range of an 8 MiB file, with and without kTLS") {
    Contexts contexts;
    TempDir dir{"tls-stream"};
    const auto content = pattern(8 << 20, 3);
    File file = dir.create("big", content);
    const std::uint64_t offset = 12345;
    bool allow_ktls = true;
    SUBCASE("kTLS allowed (the default)") { allow_ktls = true; }
    SUBCASE("kTLS off for this connection: pread + SSL_write") { allow_ktls = false; }
    CAPTURE(allow_ktls);

    Reactor reactor;
    auto pair = tcp_pair(true);
    SocketStream stream(reactor, std::move(pair.ours));
    const std::size_t expected = content.size() - offset;
    auto client = std::async(std::launch::async, [&, fd = std::move(pair.theirs)]() mutable {
        BlockingClient peer(std::move(fd), contexts.client);
        return peer.handshake() ? peer.read(expected) : std::vector<char>{};
    });
    Outcome handshake, sent;
    stream.start_tls(contexts.server, TlsRole::server, record(handshake, reactor));
    if (!allow_ktls) SSL_clear_options(stream.ssl(), SSL_OP_ENABLE_KTLS);  // forces pread + SSL_write
    REQUIRE(run_until_stopped(reactor, tls_limit));
    REQUIRE(handshake.err == 0);
    const std::string engaged = stream.ktls_send() ? "yes" : "no (no tls module in this kernel?)";
    MESSAGE("kTLS send engaged: " << engaged);
    if (!allow_ktls) CHECK_FALSE(stream.ktls_send());

    // Asks for more than the file holds: completes early with what there was.
    stream.send_file(file, offset, expected + 1000, record(sent, reactor));
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(sent.err == 0);
    CHECK(sent.n == expected);
    const auto got = client.get();
    REQUIRE(got.size() == expected);
    CHECK(std::equal(got.begin(), got.end(), content.begin() + offset));
}

TEST_CASE("recv_to_file over TLS: 8 MiB byte-identical, stopping at max without losing bytes") {
    Contexts contexts;
    TempDir dir{"tls-stream"};
    const auto data = pattern(8 << 20, 5);
    File file = dir.create("upload", {});
    Reactor reactor;
    // An uploading client never reads its data connection. If the server sent TLS 1.3 session
    // tickets there, they sit unread in the client's socket when it closes, the client's kernel
    // answers with a reset, and the server loses the upload's tail (ECONNRESET). So a data
    // connection, which resumes the control session anyway, issues no tickets.
    ServerWithClient side(
        reactor, contexts,
        [&](BlockingClient& peer) {
            peer.write(data);
            SSL_shutdown(peer.ssl.get());
            return std::vector<char>{};
        },
        [](SSL* ssl) { SSL_set_num_tickets(ssl, 0); });
    const std::uint64_t first_part = (1 << 20) + 3;  // not on a record boundary
    Outcome first, rest;
    side.stream->recv_to_file(file, 0, first_part, record(first, reactor));
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(first.err == 0);
    CHECK(first.n == first_part);
    side.stream->recv_to_file(file, first_part, 1ull << 40, record(rest, reactor));
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(rest.err == 0);
    CHECK(rest.n == data.size() - first_part);  // ended by the client's close_notify
    side.client.get();
    CHECK(dir.read("upload") == data);
}

TEST_CASE("a peer that closes TCP without close_notify reads as EOF, n == 0") {
    Contexts contexts;
    Reactor reactor;
    // No tickets: unread ones would turn the client's close into a reset (see recv_to_file above).
    ServerWithClient side(
        reactor, contexts,
        [](BlockingClient& peer) {
            peer.write({'b', 'y', 'e'});
            peer.fd.reset();  // no SSL_shutdown: what many FTP clients do
            return std::vector<char>{};
        },
        [](SSL* ssl) { SSL_set_num_tickets(ssl, 0); });
    std::vector<char> buffer(64);
    std::string got;
    Outcome outcome;
    for (int reads = 0; reads < 10; ++reads) {
        side.stream->read_some(buffer, record(outcome, reactor));
        REQUIRE(run_until_stopped(reactor, tls_limit));
        if (outcome.err != 0 || outcome.n == 0) break;
        got.append(buffer.data(), outcome.n);
    }
    CHECK(got == "bye");
    CHECK(outcome.err == 0);
    CHECK(outcome.n == 0);
    side.client.get();
}

TEST_CASE("a handshake against garbage or a peer that hangs up fails with an error, no crash") {
    Contexts contexts;
    Reactor reactor;
    auto pair = tcp_pair(true);
    SocketStream stream(reactor, std::move(pair.ours));
    std::string expected_error;
    SUBCASE("garbage instead of a ClientHello") {
        const std::string garbage = "USER anonymous\r\nPASS x\r\n";
        REQUIRE(::send(pair.theirs.get(), garbage.data(), garbage.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(garbage.size()));
        expected_error = "EPROTO";
    }
    SUBCASE("the peer closes before its ClientHello") {
        pair.theirs.reset();
        expected_error = "ECONNRESET";
    }
    Outcome handshake;
    stream.start_tls(contexts.server, TlsRole::server, record(handshake, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(handshake.err == (expected_error == "EPROTO" ? EPROTO : ECONNRESET));

    Outcome after, closing;
    std::vector<char> buffer(16);
    stream.read_some(buffer, record_only(after));
    stream.shutdown_tls(record(closing, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(after.err == ENOTCONN);
    CHECK(closing.err == ENOTCONN);
}

TEST_CASE("a stalled handshake stays pending, and destroying the Stream mid-handshake is clean") {
    Contexts contexts;
    Reactor reactor;
    auto pair = tcp_pair(false);
    auto stream = std::make_unique<SocketStream>(reactor, std::move(pair.ours));
    Outcome handshake;
    stream->start_tls(contexts.server, TlsRole::server, record_only(handshake));
    run_for(reactor, 150ms);
    CHECK_FALSE(handshake.called);  // nothing from the peer yet: no timeout of its own

    // The peer sends its ClientHello and never answers the server's flight: the server's SSL now
    // holds keys and a half-done handshake.
    SslPtr peer(SSL_new(contexts.client.native()));
    SSL_set_fd(peer.get(), pair.theirs.get());
    CHECK(SSL_connect(peer.get()) == -1);
    CHECK(SSL_get_error(peer.get(), -1) == SSL_ERROR_WANT_READ);
    run_for(reactor, 150ms);
    CHECK_FALSE(handshake.called);
    char probe = 0;
    CHECK(::recv(pair.theirs.get(), &probe, 1, MSG_PEEK) == 1);  // the server's flight came back

    stream.reset();  // what the owner's timer does
    run_for(reactor, 50ms);
    CHECK_FALSE(handshake.called);
    ERR_clear_error();
}

TEST_CASE("shutdown_tls delivers close_notify: the client's SSL_read ends with SSL_ERROR_ZERO_RETURN") {
    Contexts contexts;
    Reactor reactor;
    int client_end = 0;
    ServerWithClient side(reactor, contexts, [&](BlockingClient& peer) {
        // Without IGNORE_UNEXPECTED_EOF on the client, a close without close_notify is SSL_ERROR_SSL.
        return peer.read(0, 1 << 20, &client_end);
    });
    const std::string last = "226 last bytes";
    Outcome wrote, closed;
    side.stream->write_all(last, record(wrote, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    REQUIRE(wrote.err == 0);
    side.stream->shutdown_tls(record(closed, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(closed.err == 0);
    side.stream.reset();
    const auto got = side.client.get();
    CHECK(std::string(got.begin(), got.end()) == last);
    CHECK(client_end == SSL_ERROR_ZERO_RETURN);

    auto plain_pair = tcp_pair(false);
    SocketStream plain(reactor, std::move(plain_pair.ours));
    Outcome plain_closed;
    plain.shutdown_tls(record(plain_closed, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(plain_closed.err == 0);
}

TEST_CASE("resumed_from: a data stream that resumed the control session is recognised, a fresh one is not") {
    Contexts contexts;
    Reactor reactor;
    int version = TLS1_3_VERSION;
    SUBCASE("TLS 1.3 (tickets)") { version = TLS1_3_VERSION; }
    SUBCASE("TLS 1.2 (tickets)") { version = TLS1_2_VERSION; }
    CAPTURE(version);

    // One connection: a server Stream and a client Stream; the client may resume `session`.
    struct Connection {
        std::unique_ptr<SocketStream> server, client;
    };
    auto connect = [&](SSL_SESSION* session) {
        auto pair = tcp_pair(false);
        Connection c{std::make_unique<SocketStream>(reactor, std::move(pair.ours)),
                     std::make_unique<SocketStream>(reactor, std::move(pair.theirs))};
        Outcome s, k;
        int finished = 0;
        auto count = [&](Outcome& o) {
            return [&](Error err, std::uint64_t n) {
                o = {true, err, n};
                if (++finished == 2) reactor.stop();
            };
        };
        c.server->start_tls(contexts.server, TlsRole::server, count(s));
        c.client->start_tls(contexts.client, TlsRole::client, count(k));
        SSL_set_max_proto_version(c.client->ssl(), version);
        if (session) REQUIRE(SSL_set_session(c.client->ssl(), session) == 1);
        REQUIRE(run_until_stopped(reactor, tls_limit));
        REQUIRE(s.err == 0);
        REQUIRE(k.err == 0);
        // One byte each way: the client takes in the TLS 1.3 tickets sent after the handshake.
        std::vector<char> byte(1);
        Outcome w, r;
        c.server->write_all(std::string_view("1"), record_only(w));
        c.client->read_some(byte, record(r, reactor));
        REQUIRE(run_until_stopped(reactor, tls_limit));
        REQUIRE(r.n == 1);
        return c;
    };

    Connection control = connect(nullptr);
    const std::string tag = tag_control_session(control.server->ssl());
    REQUIRE_FALSE(tag.empty());
    SessionPtr session(SSL_get1_session(control.client->ssl()));
    REQUIRE(session != nullptr);

    Connection data = connect(session.get());
    CHECK(SSL_session_reused(data.client->ssl()) == 1);
    CHECK(resumed_from(data.server->ssl(), tag));

    Connection stranger = connect(nullptr);
    CHECK_FALSE(resumed_from(stranger.server->ssl(), tag));
}

namespace {

bool writes_to_socket(SSL* ssl) { return BIO_method_type(SSL_get_wbio(ssl)) == BIO_TYPE_SOCKET; }

void no_ktls(SSL* ssl) { SSL_clear_options(ssl, SSL_OP_ENABLE_KTLS); }

}  // namespace

TEST_CASE("send_file over TLS without kTLS: batches of records to a slow reader, byte-identical, then close_notify") {
    Contexts contexts;
    TempDir dir{"tls-stream"};
    const auto content = pattern((6 << 20) + 4321, 5);
    File file = dir.create("big", content);
    const std::uint64_t offset = 777;  // the records do not line up with the batches
    const std::size_t expected = content.size() - offset;
    Reactor reactor;
    int client_end = 0;
    ServerWithClient side(reactor, contexts, [&](BlockingClient& peer) {
        std::this_thread::sleep_for(100ms);  // the socket buffer fills: a batch goes out in parts
        return peer.read(expected, 7000, &client_end);  // small reads: the server waits on EAGAIN often
    }, no_ktls);
    Outcome sent, closed;
    side.stream->send_file(file, offset, expected, record(sent, reactor));
    run_for(reactor, 50ms);
    REQUIRE_FALSE(sent.called);
    CHECK_FALSE(writes_to_socket(side.stream->ssl()));  // the batch is the SSL's write BIO meanwhile
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(sent.err == 0);
    CHECK(sent.n == expected);
    CHECK(writes_to_socket(side.stream->ssl()));  // and the socket's again once all of it is sent
    side.stream->shutdown_tls(record(closed, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(closed.err == 0);
    side.stream.reset();
    const auto got = side.client.get();
    REQUIRE(got.size() == expected);
    CHECK(std::equal(got.begin(), got.end(), content.begin() + offset));
    CHECK(client_end == SSL_ERROR_ZERO_RETURN);
}

// Whether the page cache holds `file`'s byte at `offset` (preadv2 RWF_NOWAIT, as the streams probe).
bool cached_at(const File& file, std::uint64_t offset) {
    char byte = 0;
    iovec vector{&byte, 1};
    return ::preadv2(file.get(), &vector, 1, static_cast<off_t>(offset), RWF_NOWAIT) == 1;
}

TEST_CASE("send_file over TLS without kTLS hands a piece the page cache lacks to bring_into_cache") {
    Contexts contexts;
    TempDir dir{"tls-stream"};
    const auto content = pattern((3 << 20) + 99, 8);
    File file = dir.create("cold", content);
    REQUIRE(::fdatasync(file.get()) == 0);
    REQUIRE(::posix_fadvise(file.get(), 0, 0, POSIX_FADV_DONTNEED) == 0);
    if (cached_at(file, 0)) {
        MESSAGE("this file system keeps the file in memory (tmpfs?): nothing to bring in");
        return;
    }
    Reactor reactor;
    ServerWithClient side(reactor, contexts, [&](BlockingClient& peer) { return peer.read(content.size()); }, no_ktls);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> brought;  // (offset, count) of each piece
    auto bring = [&](std::uint64_t offset, std::uint64_t count, std::function<void()> then) {
        brought.emplace_back(offset, count);
        std::thread([&file, offset, count, then = std::move(then), &reactor]() mutable {
            std::vector<char> scratch(count);  // as the I/O pool would: read it, so it is cached
            (void)!::pread(file.get(), scratch.data(), count, static_cast<off_t>(offset));  // a short read: the send fails the test
            reactor.post(std::move(then));
        }).detach();
    };
    Outcome sent;
    side.stream->send_file(file, 0, content.size(), record(sent, reactor), Stream::FileState::settled, bring);
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(sent.err == 0);
    CHECK(sent.n == content.size());
    CHECK_FALSE(brought.empty());  // (the probe above may have started a readahead of the start)
    const auto got = side.client.get();
    REQUIRE(got.size() == content.size());
    CHECK(std::equal(got.begin(), got.end(), content.begin()));
}

TEST_CASE("cancelling a TLS write with bytes held back ends writing on that stream") {
    Contexts contexts;
    TempDir dir{"tls-stream"};
    File file = dir.create("big", pattern(16 << 20, 6));
    const auto data = pattern(32 << 20);
    enum class Held { openssl_record, openssl_batch } held = Held::openssl_record;
    SUBCASE("write_all: OpenSSL holds part of a record") { held = Held::openssl_record; }
    SUBCASE("send_file without kTLS: sealed records wait in the batch") { held = Held::openssl_batch; }
    CAPTURE(static_cast<int>(held));
    Reactor reactor;
    std::promise<void> release;
    auto released = release.get_future();
    Setup setup;
    if (held == Held::openssl_batch) setup.prepare_server = no_ktls;
    ServerWithClient side(reactor, contexts, [&](BlockingClient&) {
        released.wait_for(10s);  // reads nothing: the server's socket buffer fills up
        return std::vector<char>{};
    }, setup);
    Outcome big, after;
    if (held == Held::openssl_record) {
        side.stream->write_all(data, record_only(big));
    } else {
        side.stream->send_file(file, 0, 16 << 20, record_only(big));
    }
    run_for(reactor, 200ms);
    REQUIRE_FALSE(big.called);  // stuck on a full socket
    side.stream->cancel();
    CHECK(writes_to_socket(side.stream->ssl()));  // the batch is gone with the write
    // The bytes held back are lost, and with them the sequence numbers after them: nothing more
    // may be sent.
    side.stream->write_all(std::string_view("x"), record(after, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(after.err == EPIPE);
    CHECK_FALSE(big.called);
    release.set_value();
    side.client.get();
}

TEST_CASE("without kTLS OpenSSL seals every record: a file range, a write and close_notify in one sequence") {
    Contexts contexts;
    TempDir dir{"tls-stream"};
    const auto content = pattern((6 << 20) + 4321, 7);
    File file = dir.create("big", content);
    const std::uint64_t offset = 777;  // the records do not line up with the file
    const std::size_t expected = content.size() - offset;
    const auto tail = pattern(100000, 9);  // what write_all sends after the file (a listing, say)
    const char* suite = "TLS_AES_128_GCM_SHA256";
    int version = TLS1_3_VERSION;
    SUBCASE("TLS 1.3 AES-128-GCM") { suite = "TLS_AES_128_GCM_SHA256"; }
    SUBCASE("TLS 1.3 AES-256-GCM") { suite = "TLS_AES_256_GCM_SHA384"; }
    SUBCASE("TLS 1.3 ChaCha20-Poly1305") { suite = "TLS_CHACHA20_POLY1305_SHA256"; }
    SUBCASE("TLS 1.2") { version = TLS1_2_VERSION; }
    CAPTURE(suite);
    CAPTURE(version);
    Reactor reactor;
    int client_end = 0;
    ServerWithClient side(reactor, contexts, [&](BlockingClient& peer) {
        std::this_thread::sleep_for(100ms);  // the socket buffer fills: a batch goes out in parts
        return peer.read(0, 7000, &client_end);  // everything until the close_notify
    }, Setup{TlsOptions{.session_tickets = false}, {}, [&](SSL* ssl) {
        no_ktls(ssl);
        SSL_set_ciphersuites(ssl, suite);
        SSL_set_max_proto_version(ssl, version);
    }});
    SSL* ssl = side.stream->ssl();
    REQUIRE(SSL_version(ssl) == version);
    CHECK_FALSE(side.stream->ktls_send());
    // No BIO of ours claims kTLS: OpenSSL keeps the keys whatever the kernel has.
    CHECK_FALSE(BIO_get_ktls_send(SSL_get_wbio(ssl)));
    Outcome sent, wrote, closed;
    side.stream->send_file(file, offset, expected, record(sent, reactor));
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(sent.err == 0);
    CHECK(sent.n == expected);
    side.stream->write_all(tail, record(wrote, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(wrote.err == 0);
    side.stream->shutdown_tls(record(closed, reactor));
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(closed.err == 0);
    side.stream.reset();
    const auto got = side.client.get();
    REQUIRE(got.size() == expected + tail.size());
    CHECK(std::equal(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(expected), content.begin() + offset));
    CHECK(std::equal(got.begin() + static_cast<std::ptrdiff_t>(expected), got.end(), tail.begin()));
    CHECK(client_end == SSL_ERROR_ZERO_RETURN);  // the alert came in sequence after them
}

TEST_CASE("a key update the peer asks for is followed (OpenSSL's records): writing goes on, readable") {
    Contexts contexts;
    TempDir dir{"tls-stream"};
    const auto content = pattern(100000, 8);
    File file = dir.create("small", content);
    bool whole_file = false;
    SUBCASE("write_all") { whole_file = false; }
    SUBCASE("send_file") { whole_file = true; }
    CAPTURE(whole_file);
    const std::string line = "226 Transfer complete.";
    const std::size_t expected = whole_file ? content.size() : line.size();
    Reactor reactor;
    ServerWithClient side(reactor, contexts, [&](BlockingClient& peer) {
        SSL_key_update(peer.ssl.get(), SSL_KEY_UPDATE_REQUESTED);  // goes out before the "hi"
        if (!peer.write({'h', 'i'})) return std::vector<char>{'!'};
        return peer.read(expected, 1 << 16);  // read with the server's new keys
    }, Setup{TlsOptions{.session_tickets = false}, {}, no_ktls});
    std::vector<char> buffer(16);
    Outcome got, wrote;
    side.stream->read_some(buffer, record(got, reactor));  // OpenSSL takes the request in here
    REQUIRE(run_until_stopped(reactor, tls_limit));
    REQUIRE(got.n == 2);
    if (whole_file) {
        side.stream->send_file(file, 0, content.size(), record(wrote, reactor));
    } else {
        side.stream->write_all(line, record(wrote, reactor));
    }
    REQUIRE(run_until_stopped(reactor, tls_limit));
    CHECK(wrote.err == 0);
    CHECK(wrote.n == expected);
    side.stream.reset();
    const auto received = side.client.get();
    REQUIRE(received.size() == expected);
    if (whole_file) {
        CHECK(std::equal(received.begin(), received.end(), content.begin()));
    } else {
        CHECK(std::string(received.begin(), received.end()) == line);
    }
}
