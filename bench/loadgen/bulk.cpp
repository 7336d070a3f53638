// Bulk-transfer workloads. These use plain blocking sockets: one connection, nothing to multiplex,
// and the cost on our side is one recv/send loop of the same size for every server; "parallel"
// runs one such connection per thread.
// tls-download is the download over FTPS (AUTH TLS, PBSZ 0, PROT P) with OpenSSL, the data
// connection resuming the control connection's TLS session, as curl does.
#include "ftp_conn.hpp"
#include "workloads.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bench {
namespace {

struct Reply {
    int code = 0;
    std::string text;
};

void set_timeouts(int fd, int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// `receive_buffer` > 0 fixes SO_RCVBUF before connect (and so turns the kernel's autotuning off).
int connect_blocking(const sockaddr_in& addr, int receive_buffer = 0) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    set_timeouts(fd, 60);  // a stuck server ends the run instead of hanging it
    if (receive_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        int err = errno;
        close(fd);
        throw std::runtime_error("connect: " + std::string(std::strerror(err)));
    }
    return fd;
}

void send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("send: " + std::string(std::strerror(errno)));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string ssl_error(const std::string& what) {
    unsigned long e = ERR_get_error();
    char text[256] = "no OpenSSL error queued (peer closed?)";
    if (e != 0) ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    return what + ": " + text;
}

// One client context for every server: TLS 1.2 or 1.3, OpenSSL's default ciphers unless
// --ciphersuites (TLS 1.3) / --ciphers (TLS 1.2) narrow them, no certificate check (the servers
// use the harness's self-signed certificate).
SSL_CTX* client_tls_context(const Options* options = nullptr) {
    static SSL_CTX* ctx = [options] {
        SSL_CTX* c = SSL_CTX_new(TLS_client_method());
        if (c == nullptr) throw std::runtime_error(ssl_error("SSL_CTX_new"));
        if (options != nullptr && options->has("ciphersuites") &&
            SSL_CTX_set_ciphersuites(c, options->text("ciphersuites").c_str()) != 1)
            throw std::runtime_error(ssl_error("--ciphersuites"));
        if (options != nullptr && options->has("ciphers") &&
            SSL_CTX_set_cipher_list(c, options->text("ciphers").c_str()) != 1)
            throw std::runtime_error(ssl_error("--ciphers"));
        SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
        // Servers that just close the data connection after the file are not an error.
        SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        return c;
    }();
    return ctx;
}

SSL* tls_connect(int fd, SSL_SESSION* resume, const std::string& what) {
    SSL* ssl = SSL_new(client_tls_context());
    if (ssl == nullptr) throw std::runtime_error(ssl_error("SSL_new"));
    SSL_set_fd(ssl, fd);
    if (resume != nullptr) SSL_set_session(ssl, resume);
    if (SSL_connect(ssl) != 1) {
        std::string err = ssl_error(what + " TLS handshake");
        SSL_free(ssl);
        throw std::runtime_error(err);
    }
    return ssl;
}

class BlockingFtp {
public:
    explicit BlockingFtp(const Target& target) : target_(target) {
        fd_ = connect_blocking(make_address(target.host, target.port));
        expect(read_reply(), 2, "greeting");
    }
    ~BlockingFtp() {
        if (ssl_ != nullptr) SSL_free(ssl_);
        close(fd_);
    }

    Reply command(const std::string& line) {
        std::string wire = line + "\r\n";
        if (ssl_ != nullptr) {
            if (SSL_write(ssl_, wire.data(), static_cast<int>(wire.size())) <= 0)
                throw std::runtime_error(ssl_error("control SSL_write"));
        } else {
            send_all(fd_, wire.data(), wire.size());
        }
        return read_reply();
    }

    // AUTH TLS, then the handshake on the control connection (before USER, as curl --ssl-reqd).
    void start_tls() {
        expect(command("AUTH TLS"), 2, "AUTH TLS");
        ssl_ = tls_connect(fd_, nullptr, "control");
    }
    SSL* tls() const { return ssl_; }

    Reply read_reply() {
        int multiline = 0;
        for (;;) {
            std::string line = read_line();
            if (line.size() < 3) continue;
            int code = std::atoi(line.substr(0, 3).c_str());
            char sep = line.size() > 3 ? line[3] : ' ';
            if (multiline == 0 && sep == '-') {
                multiline = code;
                continue;
            }
            if (multiline != 0 && (code != multiline || sep != ' ')) continue;
            return Reply{code, line};
        }
    }

    void login() {
        Reply r = command("USER " + target_.user);
        if (r.code == 331) r = command("PASS " + target_.password);
        expect(r, 2, "login");
        expect(command("TYPE I"), 2, "TYPE I");
    }

    // PASV, then the data connection is opened at once (before the transfer command, as clients do).
    int open_passive(int receive_buffer = 0) {
        Reply r = command("PASV");
        expect(r, 2, "PASV");
        auto addr = parse_pasv(r.text);
        if (!addr) throw std::runtime_error("unparsable PASV reply: " + r.text);
        return connect_blocking(*addr, receive_buffer);
    }

    static void expect(const Reply& r, int first_digit, const std::string& what) {
        if (r.code / 100 != first_digit) throw std::runtime_error(what + " failed: " + r.text);
    }

private:
    std::string read_line() {
        for (;;) {
            auto pos = in_.find('\n');
            if (pos != std::string::npos) {
                std::string line = in_.substr(0, pos);
                in_.erase(0, pos + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                return line;
            }
            char buf[4096];
            if (ssl_ != nullptr) {
                int n = SSL_read(ssl_, buf, sizeof buf);
                if (n <= 0) throw std::runtime_error(ssl_error("control connection closed"));
                in_.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error("control connection closed");
            in_.append(buf, static_cast<std::size_t>(n));
        }
    }

    Target target_;
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    std::string in_;
};

// With --pause the harness samples server CPU right before and after the transfer itself, so
// the login (argon2id for ferryd, crypt for the peers) is not counted as transfer cost.
void pause_if_asked(const Options& options, const char* stage) {
    if (!options.has("pause")) return;
    ResultLine().add("stage", std::string(stage)).print();
    wait_for_harness();
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::size_t receive_to_eof(int fd, std::size_t buffer_size) {
    std::vector<char> buffer(buffer_size);
    std::size_t total = 0;
    for (;;) {
        ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error("data recv: " + std::string(std::strerror(errno)));
        if (n == 0) return total;
        total += static_cast<std::size_t>(n);
    }
}

// The RESULT line of one timed transfer; callers may add fields before printing it.
ResultLine transfer_result(std::size_t bytes, double seconds) {
    ResultLine line;
    line.add("bytes", static_cast<std::int64_t>(bytes))
        .add("seconds", seconds)
        .add("mb_per_s", static_cast<double>(bytes) / 1e6 / seconds);
    return line;
}

// After a timed transfer: let the harness sample the server, then leave.
void finish_session(BlockingFtp& ftp, const Options& options) {
    pause_if_asked(options, "done");
    ftp.command("QUIT");
}

}  // namespace

int run_download(const Options& options) {
    BlockingFtp ftp(target_from(options));
    ftp.login();
    auto recv_size = static_cast<std::size_t>(options.number("recv", 1 << 20));
    pause_if_asked(options, "ready");
    auto start = Clock::now();
    int data = ftp.open_passive();
    Reply r = ftp.command("RETR " + options.text("file", "big.bin"));
    if (r.code / 100 != 1) {
        close(data);
        BlockingFtp::expect(r, 1, "RETR");
    }
    std::size_t bytes = receive_to_eof(data, recv_size);
    close(data);
    BlockingFtp::expect(ftp.read_reply(), 2, "RETR completion");
    transfer_result(bytes, seconds_since(start)).print();
    finish_session(ftp, options);
    return 0;
}

// The download over FTPS. Timed like run_download (PASV sent -> 226 and EOF), so it includes the
// data connection's (resumed) handshake, which is tiny next to a large file.
int run_tls_download(const Options& options) {
    client_tls_context(&options);  // made once, with the cipher options
    BlockingFtp ftp(target_from(options));
    ftp.start_tls();
    ftp.login();
    BlockingFtp::expect(ftp.command("PBSZ 0"), 2, "PBSZ 0");
    BlockingFtp::expect(ftp.command("PROT P"), 2, "PROT P");
    auto recv_size = static_cast<std::size_t>(options.number("recv", 1 << 20));
    std::vector<char> buffer(recv_size);
    pause_if_asked(options, "ready");
    auto start = Clock::now();
    int data = ftp.open_passive();
    // The newest session of the control connection (TLS 1.3 tickets arrived during the login).
    SSL_SESSION* session = SSL_get1_session(ftp.tls());
    std::string wire = "RETR " + options.text("file", "big.bin") + "\r\n";
    if (SSL_write(ftp.tls(), wire.data(), static_cast<int>(wire.size())) <= 0) {
        SSL_SESSION_free(session);
        close(data);
        throw std::runtime_error(ssl_error("control SSL_write"));
    }
    // Handshake first, reply after: works whether the server sends 150 before or after it accepts.
    SSL* dssl = nullptr;
    try {
        dssl = tls_connect(data, session, "data");
    } catch (...) {
        SSL_SESSION_free(session);
        close(data);
        throw;
    }
    SSL_SESSION_free(session);
    bool reused = SSL_session_reused(dssl) == 1;
    std::string version = SSL_get_version(dssl);
    std::string cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(dssl));
    Reply r = ftp.read_reply();
    if (r.code / 100 != 1) {
        SSL_free(dssl);
        close(data);
        BlockingFtp::expect(r, 1, "RETR");
    }
    std::size_t bytes = 0;
    for (;;) {
        int n = SSL_read(dssl, buffer.data(), static_cast<int>(buffer.size()));
        if (n > 0) {
            bytes += static_cast<std::size_t>(n);
            continue;
        }
        int err = SSL_get_error(dssl, n);
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) break;
        std::string text = ssl_error("data SSL_read after " + std::to_string(bytes) + " bytes");
        SSL_free(dssl);
        close(data);
        throw std::runtime_error(text);
    }
    SSL_shutdown(dssl);  // our close_notify; the server's arrived already
    SSL_free(dssl);
    close(data);
    BlockingFtp::expect(ftp.read_reply(), 2, "RETR completion");
    transfer_result(bytes, seconds_since(start))
        .add("resumed", std::string(reused ? "yes" : "no"))
        .add("protocol", version)
        .add("cipher", cipher)
        .print();
    finish_session(ftp, options);
    return 0;
}

int run_upload(const Options& options) {
    BlockingFtp ftp(target_from(options));
    ftp.login();
    auto size = static_cast<std::size_t>(options.number("size", 1ll << 30));
    std::vector<char> buffer(static_cast<std::size_t>(options.number("send", 1 << 20)));
    for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i] = static_cast<char>('a' + i % 23);
    pause_if_asked(options, "ready");
    auto start = Clock::now();
    int data = ftp.open_passive();
    Reply r = ftp.command("STOR " + options.text("file", "upload.bin"));
    if (r.code / 100 != 1) {
        close(data);
        BlockingFtp::expect(r, 1, "STOR");
    }
    for (std::size_t sent = 0; sent < size;) {
        std::size_t n = std::min(buffer.size(), size - sent);
        send_all(data, buffer.data(), n);
        sent += n;
    }
    close(data);
    BlockingFtp::expect(ftp.read_reply(), 2, "STOR completion");
    transfer_result(size, seconds_since(start)).print();
    finish_session(ftp, options);
    return 0;
}

namespace {

struct StreamOutcome {
    std::size_t bytes = 0;
    double seconds = 0;  // from the common start to its end (EOF and the 226)
    std::string error;
};
using Sessions = std::vector<std::unique_ptr<BlockingFtp>>;

// What every stream's client does: the file, how much one recv takes, the data sockets' SO_RCVBUF
// (0: the kernel's autotuning).
struct StreamClient {
    std::string file;
    std::size_t read_size;
    int receive_buffer;
};

// PASV + RETR on one session; the data socket once the 150 came.
int start_retr(BlockingFtp& session, const StreamClient& client) {
    int data = session.open_passive(client.receive_buffer);
    const std::string& file = client.file;
    Reply r = session.command("RETR " + file);
    if (r.code / 100 != 1) {
        close(data);
        BlockingFtp::expect(r, 1, "RETR");
    }
    return data;
}

// A thread per stream, each a blocking recv loop.
void parallel_on_threads(Sessions& sessions, const StreamClient& client, Clock::time_point start,
                         std::vector<StreamOutcome>& outcomes) {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                int data = start_retr(*sessions[i], client);
                outcomes[i].bytes = receive_to_eof(data, client.read_size);
                close(data);
                BlockingFtp::expect(sessions[i]->read_reply(), 2, "RETR completion");
                outcomes[i].seconds = seconds_since(start);
            } catch (const std::exception& e) {
                outcomes[i].error = e.what();
            }
        });
    }
    for (auto& thread : threads) thread.join();
}

// One thread for every stream: level-triggered epoll, one recv of at most read_size bytes from each
// readable socket per pass, so the client treats the streams alike and which one ends first is
// not the scheduling of the client's threads.
void parallel_on_one_thread(Sessions& sessions, const StreamClient& client, Clock::time_point start,
                            std::vector<StreamOutcome>& outcomes) {
    const int poller = epoll_create1(EPOLL_CLOEXEC);
    if (poller < 0) throw std::runtime_error("epoll_create1: " + std::string(std::strerror(errno)));
    std::vector<int> data(sessions.size(), -1);
    std::size_t open = 0;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        try {
            data[i] = start_retr(*sessions[i], client);
        } catch (const std::exception& e) {
            outcomes[i].error = e.what();
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(poller, EPOLL_CTL_ADD, data[i], &ev);
        ++open;
    }
    std::vector<char> buffer(client.read_size);
    std::vector<epoll_event> events(sessions.size());
    while (open > 0) {
        const int n = epoll_wait(poller, events.data(), static_cast<int>(events.size()), 60000);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("parallel: no data for 60 s");
        for (int e = 0; e < n; ++e) {
            const auto i = static_cast<std::size_t>(events[e].data.u64);
            const ssize_t got = recv(data[i], buffer.data(), buffer.size(), MSG_DONTWAIT);
            if (got > 0) {
                outcomes[i].bytes += static_cast<std::size_t>(got);
                continue;
            }
            if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (got < 0) outcomes[i].error = "data recv: " + std::string(std::strerror(errno));
            outcomes[i].seconds = seconds_since(start);  // EOF; the 226 is read after the loop
            epoll_ctl(poller, EPOLL_CTL_DEL, data[i], nullptr);
            close(data[i]);
            --open;
        }
    }
    close(poller);
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        if (data[i] < 0 || !outcomes[i].error.empty()) continue;
        try {
            BlockingFtp::expect(sessions[i]->read_reply(), 2, "RETR completion");
        } catch (const std::exception& e) {
            outcomes[i].error = e.what();
        }
    }
}

}  // namespace

// Many downloads at once: --streams sessions log in first (untimed), then all start RETR of the
// same file together, each on its own thread, or all on one (--client events). --recv is the most
// one recv takes, --rcvbuf fixes the data sockets' SO_RCVBUF. Reports the aggregate rate (all bytes
// over the time until the last stream ended) and fairness: the slowest stream's rate over the
// fastest's.
int run_parallel(const Options& options) {
    const auto streams = static_cast<std::size_t>(options.number("streams", 50));
    const StreamClient client{options.text("file", "big.bin"), static_cast<std::size_t>(options.number("recv", 1 << 20)),
                              static_cast<int>(options.number("rcvbuf", 0))};
    Sessions sessions;
    for (std::size_t i = 0; i < streams; ++i) {
        sessions.push_back(std::make_unique<BlockingFtp>(target_from(options)));
        sessions.back()->login();
    }
    std::vector<StreamOutcome> outcomes(streams);
    pause_if_asked(options, "ready");
    const auto start = Clock::now();
    if (options.text("client", "threads") == "events") {
        parallel_on_one_thread(sessions, client, start, outcomes);
    } else {
        parallel_on_threads(sessions, client, start, outcomes);
    }
    const double wall = seconds_since(start);
    std::size_t bytes = 0, failed = 0;
    double slowest = 0, fastest = 0;
    std::string first_error;
    for (const StreamOutcome& o : outcomes) {
        if (!o.error.empty()) {
            if (failed++ == 0) first_error = o.error;
            continue;
        }
        bytes += o.bytes;
        const double rate = static_cast<double>(o.bytes) / 1e6 / std::max(o.seconds, 1e-9);
        slowest = slowest == 0 ? rate : std::min(slowest, rate);
        fastest = std::max(fastest, rate);
    }
    transfer_result(bytes, wall)
        .add("streams", static_cast<std::int64_t>(streams))
        .add("failed", static_cast<std::int64_t>(failed))
        .add("slowest_mb_per_s", slowest)
        .add("fastest_mb_per_s", fastest)
        .add("fairness", fastest > 0 ? slowest / fastest : 0.0)
        .add("first_error", first_error.empty() ? std::string("none") : first_error)
        .print();
    pause_if_asked(options, "done");
    for (auto& session : sessions) {
        try {
            session->command("QUIT");
        } catch (const std::exception&) {
        }
    }
    return 0;
}

// The ceiling: what the kernel alone does for "send this file to a loopback socket", with the same
// receiver loop the download uses. One run per RESULT line.
int run_ceiling(const Options& options) {
    std::string path = options.text("file");
    auto chunk = static_cast<std::size_t>(options.number("chunk", 1 << 20));
    auto recv_size = static_cast<std::size_t>(options.number("recv", 1 << 20));
    int runs = static_cast<int>(options.number("runs", 3));
    for (int run = 0; run < runs; ++run) {
        int file = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (file < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
        struct stat st{};
        fstat(file, &st);
        int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr = make_address("127.0.0.1", 0);
        socklen_t len = sizeof addr;
        if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(listener, 1) < 0 ||
            getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) < 0)
            throw std::runtime_error("ceiling listener: " + std::string(std::strerror(errno)));
        auto start = Clock::now();
        int receiver = connect_blocking(addr);
        int sender = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        close(listener);
        double sender_cpu = 0;  // the floor for a server's CPU: the copy itself, charged to this thread
        std::thread send_thread([&] {
            const double cpu_before = thread_cpu_seconds();
            off_t offset = 0;
            while (offset < st.st_size) {
                auto want = std::min<std::size_t>(chunk, static_cast<std::size_t>(st.st_size - offset));
                if (sendfile(sender, file, &offset, want) <= 0 && errno != EINTR) break;
            }
            close(sender);
            sender_cpu = thread_cpu_seconds() - cpu_before;
        });
        std::size_t bytes = receive_to_eof(receiver, recv_size);
        send_thread.join();
        double seconds = seconds_since(start);
        close(receiver);
        close(file);
        ResultLine()
            .add("chunk", static_cast<std::int64_t>(chunk))
            .add("recv", static_cast<std::int64_t>(recv_size))
            .add("bytes", static_cast<std::int64_t>(bytes))
            .add("seconds", seconds)
            .add("mb_per_s", static_cast<double>(bytes) / 1e6 / seconds)
            .add("sender_cpu_s", sender_cpu)
            .print();
    }
    return 0;
}

}  // namespace bench
