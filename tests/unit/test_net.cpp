// src/net over real loopback sockets and real temp files.
#include "net/address.hpp"
#include "net/linux/socket_stream.hpp"
#include "net/listener.hpp"
#include "net/reactor.hpp"
#include "net/stream.hpp"
#include "net/worker_pool.hpp"

#include "support/loopback.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <future>
#include <netinet/in.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <vector>

using namespace ferry;
using namespace ferry::net;
using namespace ferry::testing;
using namespace std::chrono_literals;

namespace {

// A blocking peer thread: receive exactly `expected` bytes (or until EOF/timeout), reading
// `chunk` bytes at a time with an optional pause between reads (a slow reader).
std::future<std::vector<char>> receive_in_thread(int fd, std::size_t expected, std::size_t chunk = 1 << 20,
                                                 std::chrono::microseconds pause = 0us) {
    return std::async(std::launch::async, [=] {
        std::vector<char> got;
        std::vector<char> buffer(chunk);
        while (got.size() < expected) {
            const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (n <= 0) break;
            got.insert(got.end(), buffer.begin(), buffer.begin() + n);
            if (pause.count()) std::this_thread::sleep_for(pause);
        }
        return got;
    });
}

// A blocking peer thread: send all of `data`, then close (the stream sees EOF). Returns bytes sent.
std::future<std::size_t> send_in_thread(Socket fd, std::vector<char> data) {
    return std::async(std::launch::async, [fd = std::move(fd), data = std::move(data)]() mutable {
        std::size_t sent = 0;
        while (sent < data.size()) {
            const ssize_t n = ::send(fd.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        fd.reset();
        return sent;
    });
}

}  // namespace

TEST_CASE("Address parses literal IPs with ports") {
    auto v4 = Address::parse("1.2.3.4:21");
    REQUIRE(v4);
    CHECK(v4->family() == Family::v4);
    CHECK(v4->ip() == "1.2.3.4");
    CHECK(v4->port() == 21);
    CHECK(v4->to_string() == "1.2.3.4:21");

    auto v6 = Address::parse("[::1]:2121");
    REQUIRE(v6);
    CHECK(v6->family() == Family::v6);
    CHECK_FALSE(v6->is_v4());
    CHECK(v6->to_string() == "[::1]:2121");

    CHECK(Address::parse("0.0.0.0:0")->port() == 0);
    CHECK(Address::parse("[::]:21")->ip() == "::");
    CHECK(Address::parse("255.255.255.255:65535")->port() == 65535);

    auto mapped = Address::parse("[::ffff:10.0.0.7]:990");
    REQUIRE(mapped);
    CHECK(mapped->family() == Family::v6);
    CHECK(mapped->is_v4());
    CHECK(mapped->ip() == "10.0.0.7");
    CHECK(mapped->same_ip(*Address::parse("10.0.0.7:1")));
    CHECK_FALSE(mapped->same_ip(*Address::parse("10.0.0.8:990")));
    CHECK_FALSE(Address().same_ip(Address()));

    auto a = *Address::from_ip("::1", 5);
    a.set_port(6);
    CHECK(a.to_string() == "[::1]:6");
    CHECK_FALSE(Address::from_ip("localhost", 21));
}

TEST_CASE("Address rejects names, bad ports and junk") {
    const std::string embedded_nul("1.2.3.4\0:21", 11);
    for (std::string_view bad : std::initializer_list<std::string_view>{"", ":", ":21", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:+21", "1.2.3.4: 21",
          "1.2.3.4:21 ", " 1.2.3.4:21", "1.2.3.4:0x15", "1.2.3.4:99999999999", "localhost:21", "example.com:21",
          "::1:21", "[::1]", "[::1]21", "[::1:21", "::1]:21", "[1.2.3.4]:21", "1.2.3:21", "256.1.1.1:21",
          "1.2.3.4.5:21", "[fe80::1%eth0]:21", "[]:21", "[::1]:", std::string_view(embedded_nul)}) {
        CAPTURE(bad);
        CHECK_FALSE(Address::parse(bad));
    }
}

TEST_CASE("post() from another thread runs on the loop thread, in order") {
    Reactor reactor;
    std::vector<int> seen;
    bool all_on_loop = true;
    std::thread poster([&] {
        for (int i = 0; i < 1000; ++i)
            reactor.post([&, i] {
                all_on_loop = all_on_loop && reactor.in_loop_thread();
                seen.push_back(i);
                if (i == 999) reactor.stop();
            });
    });
    const bool stopped = run_until_stopped(reactor);
    poster.join();
    REQUIRE(stopped);
    CHECK(all_on_loop);
    REQUIRE(seen.size() == 1000);
    for (int i = 0; i < 1000; ++i) CHECK(seen[i] == i);
}

TEST_CASE("stop() from another thread wakes a sleeping loop") {
    Reactor reactor;
    std::thread stopper([&] {
        std::this_thread::sleep_for(20ms);
        reactor.stop();
    });
    CHECK(run_until_stopped(reactor, 5s));
    stopper.join();
}

TEST_CASE("timers fire in deadline order; cancel works; defer runs after the current task") {
    Reactor reactor;
    std::vector<int> fired;
    reactor.add_timer(30ms, [&] { fired.push_back(30); });
    reactor.add_timer(10ms, [&] { fired.push_back(10); });
    auto cancelled = reactor.add_timer(15ms, [&] { fired.push_back(15); });
    reactor.add_timer(20ms, [&] {
        fired.push_back(20);
        reactor.defer([&] { fired.push_back(21); });
        fired.push_back(22);  // the deferred task has not run yet
    });
    reactor.add_timer(40ms, [&] { reactor.stop(); });
    reactor.cancel_timer(cancelled);
    reactor.cancel_timer(9999);  // unknown: nothing happens
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(run_until_stopped(reactor));
    CHECK(std::chrono::steady_clock::now() - start >= 40ms);
    CHECK(fired == std::vector<int>{10, 20, 22, 21, 30});
}

TEST_CASE("Stream read_some and write_all over loopback; EOF is n == 0, err == 0") {
    Reactor reactor;
    auto pair = tcp_pair();
    SocketStream a(reactor, std::move(pair.ours));
    SocketStream b(reactor, std::move(pair.theirs));
    const std::string hello = "hello, ferry";
    Outcome wrote, got;
    std::vector<char> buffer(64);
    const auto before = a.last_activity();
    bool started_synchronously = false;
    a.write_all(hello, [&](Error err, std::uint64_t n) { wrote = {true, err, n}; });
    b.read_some(buffer, record(got, reactor));
    started_synchronously = wrote.called || got.called;  // completions come from the loop only
    REQUIRE(run_until_stopped(reactor));
    CHECK_FALSE(started_synchronously);
    CHECK(wrote.err == 0);
    CHECK(wrote.n == hello.size());
    CHECK(got.err == 0);
    CHECK(std::string(buffer.data(), got.n) == hello);
    CHECK(a.last_activity() > before);
    CHECK(a.peer_address().port() == b.local_address().port());

    Outcome eof;
    a.shutdown_write();
    b.read_some(buffer, record(eof, reactor));
    REQUIRE(run_until_stopped(reactor));
    CHECK(eof.err == 0);
    CHECK(eof.n == 0);
}

TEST_CASE("write_all of 24 MiB against a slow reader arrives intact") {
    Reactor reactor;
    auto pair = tcp_pair(true);
    const auto data = pattern(24 << 20);
    auto received = receive_in_thread(pair.theirs.get(), data.size(), 256 << 10, 200us);
    SocketStream stream(reactor, std::move(pair.ours));
    Outcome done;
    stream.write_all(data, record(done, reactor));
    REQUIRE(run_until_stopped(reactor, 30s));
    CHECK(done.err == 0);
    CHECK(done.n == data.size());
    CHECK(received.get() == data);
}

TEST_CASE("send_file sends a file, a range of it, and stops early at the end of the file") {
    TempDir dir("net");
    const auto content = pattern(8 << 20, 2);
    File file = dir.create("eight", content);
    Reactor reactor;

    struct Case {
        std::uint64_t offset, count, expected;
    };
    for (Case c : {Case{0, content.size(), content.size()}, Case{12345, (1 << 20) + 7, (1 << 20) + 7},
                   Case{content.size() - 100, 1000, 100}, Case{0, 0, 0}}) {
        CAPTURE(c.offset);
        CAPTURE(c.count);
        auto pair = tcp_pair(true);
        auto received = receive_in_thread(pair.theirs.get(), c.expected);
        Outcome done;
        {
            SocketStream stream(reactor, std::move(pair.ours));
            stream.send_file(file, c.offset, c.count, record(done, reactor));
            REQUIRE(run_until_stopped(reactor));
        }  // closing our end ends the reader if it expected more
        CHECK(done.err == 0);
        CHECK(done.n == c.expected);
        const std::vector<char> slice(content.begin() + c.offset, content.begin() + c.offset + c.expected);
        CHECK(received.get() == slice);
    }
}

TEST_CASE("recv_to_file receives until EOF, or stops at max") {
    TempDir dir("net");
    const auto content = pattern(8 << 20, 3);
    Reactor reactor;
    for (int append : {0, O_APPEND}) {  // a plain file and an O_APPEND one (where pwrite appends)
        for (std::uint64_t max : {std::uint64_t{1} << 40, std::uint64_t{(3 << 20) + 5}}) {
            CAPTURE(append);
            CAPTURE(max);
            auto pair = tcp_pair(true);
            File file(::open(dir.file("in").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | append, 0600));
            auto sent = send_in_thread(std::move(pair.theirs), content);
            Outcome done;
            {
                SocketStream stream(reactor, std::move(pair.ours));
                stream.recv_to_file(file, 0, max, record(done, reactor));
                REQUIRE(run_until_stopped(reactor));
            }
            const std::uint64_t expected = std::min<std::uint64_t>(max, content.size());
            CHECK(done.err == 0);
            CHECK(done.n == expected);
            CHECK(dir.read("in") == std::vector<char>(content.begin(), content.begin() + expected));
            sent.get();
        }
    }
}

TEST_CASE("recv_to_file ends with the write error and counts only bytes that reached the file") {
    TempDir dir("net");
    Reactor reactor;
    constexpr rlim_t limit = 1 << 20;
    rlimit old{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    for (int append : {0, O_APPEND}) {
        CAPTURE(append);
        auto pair = tcp_pair(true);
        File file(::open(dir.file("big").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | append, 0600));
        rlimit small{limit, old.rlim_max};
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        auto sent = send_in_thread(std::move(pair.theirs), pattern(4 << 20));
        Outcome done;
        {
            SocketStream stream(reactor, std::move(pair.ours));
            stream.recv_to_file(file, 0, ~std::uint64_t{0}, record(done, reactor));
            REQUIRE(run_until_stopped(reactor));
        }
        ::setrlimit(RLIMIT_FSIZE, &old);
        CHECK(done.err == EFBIG);
        CHECK(done.n == limit);
        CHECK(std::filesystem::file_size(dir.file("big")) == limit);
        sent.get();  // our close makes the sender fail and return
    }
    ::signal(SIGXFSZ, old_handler);
}

TEST_CASE("a big send_file yields to other sessions between turns") {
    // Buffers big enough that the whole file fits without EAGAIN: only the per-turn bound can let
    // the other session in before the download finishes.
    constexpr std::size_t size = 48 << 20;
    constexpr int buffers = 128 << 20;
    auto listening = bind_listen(*Address::parse("127.0.0.1:0"), 4);
    REQUIRE(listening.ok());
    const Address where = local_address_of(*listening);
    Socket reader(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::setsockopt(reader.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffers, sizeof buffers) != 0) {
        MESSAGE("skipped: SO_RCVBUFFORCE needs CAP_NET_ADMIN");
        return;
    }
    REQUIRE(connect_socket(reader, where) == 0);
    Socket sender(::accept4(listening->get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    REQUIRE(::setsockopt(sender.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buffers, sizeof buffers) == 0);

    TempDir dir("net");
    File file = dir.create("sparse", {});
    REQUIRE(::ftruncate(file.get(), size) == 0);
    Reactor reactor;
    auto other = tcp_pair();
    SocketStream waiting(reactor, std::move(other.ours));
    SocketStream download(reactor, std::move(sender));
    std::vector<std::string> order;
    std::vector<char> buffer(8);
    waiting.read_some(buffer, [&](Error, std::uint64_t) { order.push_back("other session"); });
    REQUIRE(::send(other.theirs.get(), "!", 1, 0) == 1);
    download.send_file(file, 0, size, [&](Error err, std::uint64_t n) {
        CHECK(err == 0);
        CHECK(n == size);
        order.push_back("download");
        reactor.stop();
    });
    REQUIRE(run_until_stopped(reactor));
    CHECK(order == std::vector<std::string>{"other session", "download"});
}

TEST_CASE("in_flight() counts a finished operation's bytes until its completion has run") {
    // An owner destroyed in between (a session closing while a chunk of its upload has just
    // arrived) learns from in_flight() what reached the file; its completion never runs.
    TempDir dir("net");
    Reactor reactor;
    auto pair = tcp_pair(true);
    File file(::open(dir.file("in").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(::send(pair.theirs.get(), "0123456789", 10, MSG_NOSIGNAL) == 10);
    run_for(reactor, 20ms);
    SocketStream stream(reactor, std::move(pair.ours));
    Outcome received, wrote;
    stream.recv_to_file(file, 0, 10, [&](Error err, std::uint64_t n) { received = {true, err, n}; });  // done in the call
    stream.write_all(std::string_view("abc"), [&](Error err, std::uint64_t n) { wrote = {true, err, n}; });
    CHECK_FALSE(received.called);
    CHECK(stream.in_flight() == 13);
    run_for(reactor, 20ms);
    CHECK(received.n == 10);
    CHECK(wrote.n == 3);
    CHECK(stream.in_flight() == 0);  // reported now: not counted twice
}

TEST_CASE("cancel() drops pending and already-finished completions") {
    Reactor reactor;
    auto pair = tcp_pair();
    SocketStream stream(reactor, std::move(pair.ours));
    SocketStream peer(reactor, std::move(pair.theirs));
    std::vector<char> buffer(16);
    bool read_called = false, write_called = false;
    stream.read_some(buffer, [&](Error, std::uint64_t) { read_called = true; });
    stream.write_all(std::string_view("done at once"), [&](Error, std::uint64_t) { write_called = true; });
    stream.cancel();  // the write finished in the syscall, its completion was queued: dropped too
    peer.write_all(std::string_view("late data"), [](Error, std::uint64_t) {});
    run_for(reactor, 50ms);
    CHECK_FALSE(read_called);
    CHECK_FALSE(write_called);

    Outcome again;  // the stream is usable after cancel()
    stream.read_some(buffer, record(again, reactor));
    REQUIRE(run_until_stopped(reactor));
    CHECK(std::string(buffer.data(), again.n) == "late data");
}

TEST_CASE("destroying a Stream inside its own completion is safe and drops the other one") {
    Reactor reactor;
    auto pair = tcp_pair();
    auto stream = std::make_unique<SocketStream>(reactor, std::move(pair.ours));
    REQUIRE(::send(pair.theirs.get(), "x", 1, 0) == 1);
    std::vector<char> buffer(16);
    int calls = 0;
    stream->write_all(std::string_view("bye"), [&](Error, std::uint64_t) {
        ++calls;
        stream.reset();
        reactor.defer([&] { reactor.stop(); });
    });
    stream->read_some(buffer, [&](Error, std::uint64_t) { ++calls; });  // also completes in this turn
    REQUIRE(run_until_stopped(reactor));
    CHECK(calls == 1);
    CHECK_FALSE(stream);

    // And from a completion that came through readiness (EAGAIN first, then the edge).
    auto pair2 = tcp_pair();
    stream = std::make_unique<SocketStream>(reactor, std::move(pair2.ours));
    stream->read_some(buffer, [&](Error, std::uint64_t n) {
        calls += static_cast<int>(n);
        stream.reset();
        reactor.stop();
    });
    REQUIRE(::send(pair2.theirs.get(), "yz", 2, 0) == 2);
    REQUIRE(run_until_stopped(reactor));
    CHECK(calls == 3);
}

TEST_CASE("Listener accepts what a Connector connects, beyond one turn's bound") {
    Reactor reactor;
    auto listening = bind_listen(*Address::parse("127.0.0.1:0"), 256);
    REQUIRE(listening.ok());
    std::vector<Socket> accepted;
    std::vector<Address> peers;
    Listener listener(reactor, std::move(*listening), [&](Socket connection, Address peer) {
        accepted.push_back(std::move(connection));
        peers.push_back(peer);
        if (accepted.size() == 101) reactor.stop();
    });
    const Address where = listener.local_address();
    CHECK(where.port() != 0);

    std::vector<Socket> clients;  // 100 plain connects waiting in the backlog, then one Connector
    for (int i = 0; i < 100; ++i) {
        clients.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        REQUIRE(connect_socket(clients.back(), where) == 0);
    }
    Connector connector(reactor);
    Socket connected;
    std::optional<Error> connect_err;
    connector.connect(where, Address::parse("127.0.0.1:0"), [&](Error err, Socket c) {
        connect_err = err;
        connected = std::move(c);
    });
    REQUIRE(run_until_stopped(reactor));
    if (!connect_err) run_for(reactor, 20ms);  // the connect completion may trail the accept
    REQUIRE(connect_err);
    CHECK(*connect_err == 0);
    REQUIRE(connected);
    CHECK(accepted.size() == 101);
    const Address local = local_address_of(connected);
    CHECK(local.same_ip(*Address::parse("127.0.0.1:0")));
    bool found = false;
    for (auto& peer : peers) found = found || peer.port() == local.port();
    CHECK(found);
}

TEST_CASE("Listener pause() leaves connections in the backlog until resume()") {
    Reactor reactor;
    auto listening = bind_listen(*Address::parse("[::1]:0"), 8);
    REQUIRE(listening.ok());
    int accepted = 0;
    Listener listener(reactor, std::move(*listening), [&](Socket, Address peer) {
        ++accepted;
        CHECK(peer.ip() == "::1");
        reactor.stop();
    });
    listener.pause();
    const Address where = listener.local_address();
    Socket client(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(connect_socket(client, where) == 0);
    run_for(reactor, 30ms);
    CHECK(accepted == 0);
    listener.resume();
    REQUIRE(run_until_stopped(reactor));
    CHECK(accepted == 1);
}

TEST_CASE("Listener backs off on EMFILE and accepts once descriptors are free") {
    Reactor reactor;
    auto listening = bind_listen(*Address::parse("127.0.0.1:0"), 8);
    REQUIRE(listening.ok());
    int accepted = 0;
    Listener listener(reactor, std::move(*listening), [&](Socket, Address) {
        ++accepted;
        reactor.stop();
    });
    const Address where = listener.local_address();
    Socket client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(connect_socket(client, where) == 0);
    rlimit old{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
    const int lowest_free = ::dup(0);
    ::close(lowest_free);
    rlimit tight{static_cast<rlim_t>(lowest_free), old.rlim_max};  // the next accept gets EMFILE
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    run_for(reactor, 30ms);
    ::setrlimit(RLIMIT_NOFILE, &old);
    CHECK(accepted == 0);
    REQUIRE(run_until_stopped(reactor, 2s));  // the retry timer (~100 ms) accepts it
    CHECK(accepted == 1);
}

TEST_CASE("Connector reports ECONNREFUSED; cancel() and destruction drop the callback") {
    Reactor reactor;
    Address closed;
    {
        auto probe = bind_listen(*Address::parse("127.0.0.1:0"), 1);
        REQUIRE(probe.ok());
        closed = local_address_of(*probe);
    }  // closed now: nothing listens on that port
    Connector connector(reactor);
    Error err = Errc::other;
    connector.connect(closed, std::nullopt, [&](Error e, Socket c) {
        err = e;
        CHECK_FALSE(c);
        reactor.stop();
    });
    REQUIRE(run_until_stopped(reactor));
    CHECK(err == ECONNREFUSED);

    auto listening = bind_listen(*Address::parse("127.0.0.1:0"), 4);
    const Address open = local_address_of(*listening);
    bool called = false;
    connector.connect(open, std::nullopt, [&](Error, Socket) { called = true; });
    connector.cancel();
    {
        Connector short_lived(reactor);
        short_lived.connect(open, std::nullopt, [&](Error, Socket) { called = true; });
    }
    run_for(reactor, 30ms);
    CHECK_FALSE(called);
}

TEST_CASE("a reactor destroyed with tasks queued drops them, and what they post as they go") {
    // A pool job's continuation, posted to a reactor that no longer runs, holds something that
    // posts to that reactor when it is destroyed (a CommandToken completes from the loop).
    struct Counts {
        int held = 0;    // objects held by queued tasks, destroyed
        int posted = 0;  // tasks they posted on their way out, destroyed
    };
    struct CountsWhenGone {
        int* count;
        ~CountsWhenGone() { ++*count; }
    };
    struct PostsWhenGone {
        Reactor* reactor;
        Counts* counts;
        ~PostsWhenGone() {
            ++counts->held;
            reactor->post([gone = std::make_shared<CountsWhenGone>(&counts->posted)] {});
        }
    };
    Counts counts;
    {
        Reactor reactor;
        std::thread([&] {
            reactor.post([held = std::make_shared<PostsWhenGone>(&reactor, &counts)] {});
            reactor.add_timer(1h, [held = std::make_shared<PostsWhenGone>(&reactor, &counts)] {});
        }).join();
    }
    CHECK(counts.held == 2);
    CHECK(counts.posted == 2);  // dropped as they came, not queued into a reactor being destroyed
}

TEST_CASE("WorkerPool runs jobs and posts results back to the reactor") {
    Reactor reactor;
    std::vector<long> results;
    bool all_on_loop = true;
    {
        WorkerPool pool(3);
        for (long i = 0; i < 200; ++i)
            pool.submit([&reactor, &results, &all_on_loop, i] {
                const long square = i * i;  // the "slow" work, off the loop thread
                reactor.post([&, square] {
                    all_on_loop = all_on_loop && reactor.in_loop_thread();
                    results.push_back(square);
                    if (results.size() == 200) reactor.stop();
                });
            });
        REQUIRE(run_until_stopped(reactor));
    }
    CHECK(all_on_loop);
    long sum = 0;
    for (long r : results) sum += r;
    CHECK(sum == 199L * 200 * 399 / 6);
}

TEST_CASE("WorkerPool destructor lets the running job finish and drops the queued ones") {
    std::atomic<int> ran{0};
    std::promise<void> release;
    std::promise<void> started;
    std::thread releaser;
    {
        WorkerPool pool(1);
        pool.submit([&, gate = release.get_future().share()] {
            started.set_value();
            gate.wait_for(5s);
            ++ran;
        });
        for (int i = 0; i < 10; ++i) pool.submit([&] { ++ran; });
        started.get_future().wait_for(5s);
        CHECK(pool.queued() == 10);
        releaser = std::thread([&] {  // opens the gate while the destructor below waits
            std::this_thread::sleep_for(30ms);
            release.set_value();
        });
    }
    releaser.join();
    CHECK(ran == 1);
}

TEST_CASE("WorkerPool lanes: bulk jobs run on threads of their own, so a prompt job runs at once") {
    std::promise<void> release;
    const auto gate = release.get_future().share();
    std::atomic<int> bulk_started{0};
    std::promise<void> prompt_ran;
    {
        WorkerPool pool(2);
        for (int i = 0; i < 3; ++i)
            pool.submit(
                [&, gate] {
                    ++bulk_started;
                    gate.wait_for(5s);
                },
                Lane::bulk);
        std::this_thread::sleep_for(50ms);
        CHECK(bulk_started == 1);  // pool(2): one bulk thread
        pool.submit([&] { prompt_ran.set_value(); });
        CHECK(prompt_ran.get_future().wait_for(2s) == std::future_status::ready);
        CHECK(bulk_started == 1);
        release.set_value();  // the queued bulk jobs run one after another now
        for (int i = 0; i < 200 && bulk_started < 3; ++i) std::this_thread::sleep_for(10ms);
        CHECK(bulk_started == 3);
    }
}

TEST_CASE("WorkerPool with one prompt thread still has a bulk thread: neither lane waits for the other") {
    std::promise<void> release;
    const auto gate = release.get_future().share();
    std::promise<void> bulk_ran, prompt_ran;
    {
        WorkerPool pool(1);
        pool.submit([gate] { gate.wait_for(5s); });  // the prompt thread is busy
        pool.submit([&] { bulk_ran.set_value(); }, Lane::bulk);
        CHECK(bulk_ran.get_future().wait_for(2s) == std::future_status::ready);
        pool.submit([gate] { gate.wait_for(5s); }, Lane::bulk);  // now the bulk thread is
        pool.submit([&] { prompt_ran.set_value(); });
        release.set_value();
        CHECK(prompt_ran.get_future().wait_for(2s) == std::future_status::ready);
    }
}
