// The running server: listeners on one acceptor reactor, sessions spread over `workers` reactor
// threads, the worker pool, limits on sessions, and the orderly shutdown on SIGTERM/SIGINT.
#pragma once
#include "app/config.hpp"
#include "app/stores.hpp"
#include "auth/accounts.hpp"
#include "auth/defender.hpp"
#include "net/listener.hpp"
#include "net/proxy_reader.hpp"
#include "net/reactor.hpp"
#include "net/tls_context.hpp"
#include "app/metrics_text.hpp"
#include "net/worker_pool.hpp"
#include "proto/server_context.hpp"
#include "proto/session.hpp"
#include "proto/xferlog.hpp"
#include "sys/atomic_file.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace ferry::app {

// Sessions per client IP and in total, shared by the acceptor and the session threads.
class ConnectionLimits {
public:
    ConnectionLimits(unsigned max_total, unsigned max_per_ip) : max_total_(max_total), max_per_ip_(max_per_ip) {}
    // false (and nothing counted) when a limit is reached; `why` says which.
    bool try_admit(const std::string& ip, std::string& why);
    void release(const std::string& ip);
    unsigned total() const { return total_.load(); }

private:
    const unsigned max_total_;
    const unsigned max_per_ip_;
    std::mutex mutex_;
    std::map<std::string, unsigned> per_ip_;
    std::atomic<unsigned> total_{0};
};

// A listening socket, bound while ferryd may still bind port 21.
struct BoundListener {
    Socket socket;
    proto::Session::Entry entry = proto::Session::Entry::plain;
};

// Binds every listen and listen_implicit_tls address; nullopt (with the reason logged) if any fails.
std::optional<std::vector<BoundListener>> bind_listeners(const Config& config);
// With TLS on: creates the certificate (tls_self_signed) if missing and loads it. *ok = false
// (logged) on failure; nullopt and *ok = true when TLS is off.
std::optional<net::TlsContext> load_tls_context(const Config& config, bool* ok);

class Server {
public:
    // Why a session is closed: for the log ("account deleted") and the text of its 421.
    struct Closing {
        std::string why;
        std::string reply;
    };
    // Given a logged-in session's user: the Closing, or nullopt to keep the session.
    using CloseRule = std::function<std::optional<Closing>(std::string_view user)>;

    Server(Config config, Stores stores);
    ~Server();
    // The TLS context load_tls_context() made (before the privileges were given up).
    void use_tls(net::TlsContext tls);
    // Serves the sockets bind_listeners() bound (before the privileges were given up).
    void open_listeners(std::vector<BoundListener> bound);
    // Where sessions hand their hook events (nullptr: none). Before run().
    void use_hooks(proto::HookSink* hooks) { context_.hooks = hooks; }
    // What a metrics scrape reads now (any thread).
    ScrapeInputs scrape_inputs() const;
    // Runs until stop() (or a signal handled by the caller) and the shutdown has completed.
    void run();
    // Thread-safe: stop accepting, let transfers finish within shutdown_grace, then return from run().
    void stop();
    // Thread-safe (SIGHUP, after logrotate moved the files): open log_file and xferlog again by
    // name. A file that cannot be opened keeps the old one, and the log says so.
    void reopen_logs();
    // SIGHUP too: tls_cert and tls_key read again for the connections that come next (a renewed
    // certificate); a pair that does not load, does not match or is out of its dates leaves the
    // one in use, and the log says why. Sessions already connected keep theirs.
    void reload_tls();

private:
    struct Worker;
    void accept(Socket connection, net::Address peer, proto::Session::Entry entry);
    // proxy_protocol: the header first, then admit() with the client it names.
    void read_proxy_header(Socket connection, net::Address balancer, proto::Session::Entry entry);
    // The defender, the limits, then a session on a worker. `client` is who the session serves
    // (the connection's peer, or the client a PROXY header named).
    void admit(Socket connection, const net::Address& client, bool proxied, proto::Session::Entry entry);
    void begin_shutdown();
    void schedule_accounts_check();
    void schedule_retired_homes_pruning(std::chrono::seconds delay);
    void schedule_bans_check(std::chrono::seconds delay);
    void schedule_reservation_renewal();
    void share_with_other_nodes(Stores& stores);
    void check_accounts_now();  // worker pool
    void count_remote_failures(const std::vector<auth::RemoteFailure>& failures);
    void load_bans_if_changed();  // worker pool, or before run()
    void apply_account_changes(std::shared_ptr<const auth::AccountsFile> accounts);
    // Every logged-in session the rule names gets 421 and is closed, on its own reactor.
    void close_sessions(CloseRule rule);
    void finish_shutdown();
    static std::vector<proto::Session*> session_list(Worker& worker);

    Config config_;
    std::unique_ptr<auth::AccountStore> accounts_;
    std::function<Status()> renew_reservations_;
    std::function<void(std::function<void(std::vector<auth::RemoteFailure>)>)> watch_failures_;
    std::unique_ptr<net::WorkerPool> pool_;     // stopped first (~Server): its jobs use the members below
    std::unique_ptr<net::WorkerPool> io_pool_;  // the same
    proto::XferLog xferlog_;
    proto::ServerContext context_;
    ConnectionLimits limits_;
    net::Reactor acceptor_;
    std::vector<std::unique_ptr<net::Listener>> listeners_;
    std::vector<auth::Network> proxy_trusted_;
    std::unordered_map<std::uint64_t, std::unique_ptr<net::ProxyReader>> proxy_readers_;  // acceptor only
    std::uint64_t next_proxy_reader_ = 0;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::size_t next_worker_ = 0;
    std::atomic<bool> stopping_{false};
    std::mutex accounts_check_mutex_;
    std::uint64_t accounts_seen_ = 0;  // AccountStore generation last applied; under accounts_check_mutex_
    std::optional<FileStamp> bans_seen_;  // of bans_file when last loaded; worker pool only
};

}  // namespace ferry::app
