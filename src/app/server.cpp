#include "app/server.hpp"

#include "base/log.hpp"
#include "base/metrics.hpp"
#include "sys/process_stats.hpp"
#include "fs/home_folders.hpp"
#include "proto/session.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <unordered_map>

namespace ferry::app {

// ---- limits ----

bool ConnectionLimits::try_admit(const std::string& ip, std::string& why) {
    std::lock_guard lock(mutex_);
    if (max_total_ && total_.load() >= max_total_) {
        why = cat("too many sessions (max_sessions = ", max_total_, ")");
        return false;
    }
    unsigned& count = per_ip_[ip];
    if (max_per_ip_ && count >= max_per_ip_) {
        why = cat("too many sessions from ", ip, " (max_sessions_per_ip = ", max_per_ip_, ")");
        if (count == 0) per_ip_.erase(ip);
        return false;
    }
    ++count;
    ++total_;
    return true;
}

void ConnectionLimits::release(const std::string& ip) {
    std::lock_guard lock(mutex_);
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
    --total_;
}

// ---- one reactor thread and the sessions it owns ----

namespace {
const Server::Closing deleted{"account deleted", "Your account has been deleted."};
}  // namespace

struct Server::Worker {
    net::Reactor reactor;
    std::unordered_map<proto::Session*, std::unique_ptr<proto::Session>> sessions;  // reactor thread only
    bool shutting_down = false;                                                     // reactor thread only
    std::function<void()> on_drained;  // set with shutting_down; runs once, when no session is left
    std::thread thread;

    void stop_when_empty() {
        if (!shutting_down || !sessions.empty() || !on_drained) return;
        auto drained = std::move(on_drained);
        on_drained = nullptr;
        reactor.stop();
        drained();
    }
};

Server::Server(Config config, Stores stores)
    : config_(std::move(config)),
      accounts_(std::move(stores.accounts)),
      renew_reservations_(std::move(stores.renew)),
      pool_(std::make_unique<net::WorkerPool>(config_.pool_threads)),
      io_pool_(std::make_unique<net::WorkerPool>(config_.io_threads, net::PoolKind::io)),
      context_(session_settings(config_), defender_settings(config_), *accounts_, *pool_, *io_pool_, xferlog_),
      limits_(config_.max_sessions, config_.max_sessions_per_ip) {
    if (!xferlog_.open(config_.xferlog)) log::error(cat("xferlog: cannot open ", config_.xferlog, ": ", std::strerror(errno)));
    unsigned count = config_.workers ? config_.workers : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < count; ++i) workers_.push_back(std::make_unique<Worker>());
    for (const auto& text : config_.proxy_trusted)
        if (auto network = auth::Network::parse(text)) proxy_trusted_.push_back(std::move(*network));
    share_with_other_nodes(stores);
    context_.account_deleted = [this](const std::string& user) {
        close_sessions([user](std::string_view name) { return name == user ? deleted : std::optional<Closing>(); });
    };
}

void Server::close_sessions(CloseRule rule) {
    auto shared_rule = std::make_shared<const CloseRule>(std::move(rule));
    for (auto& worker : workers_) {
        Worker* w = worker.get();
        w->reactor.post([w, shared_rule] {
            for (auto* session : session_list(*w)) {
                const std::string_view user = session->logged_in_user();
                if (user.empty()) continue;
                const auto closing = (*shared_rule)(user);
                if (!closing) continue;
                log::info(cat("session ", session->id(), " ", user, ": ", closing->why, "; closing the session"));
                session->close_now(421, closing->reply);
            }
        });
    }
}

// With a database several nodes share: quota usage, session counts and failed logins go through
// it, and its notifications of account changes and of the others' failures come here. Nothing
// of it is set up for the file store (every member of `stores` but the accounts is empty).
void Server::share_with_other_nodes(Stores& stores) {
    auto on_pool = [this](std::function<void()> job) { pool_->submit(std::move(job)); };
    if (stores.usage) context_.quotas.share_through(stores.usage, on_pool);
    if (stores.folder_usage) context_.folder_quotas.share_through(stores.folder_usage, on_pool);
    if (stores.sessions) context_.user_sessions.share_through(stores.sessions, on_pool);
    if (stores.publish_failure) {
        context_.publish_failure = [this, publish = stores.publish_failure](const std::string& address, const std::string& user) {
            pool_->submit([publish, address, user] {
                if (const Status err = publish(address, user))
                    log::warn(cat("defender: the other nodes were not told of a failed login from ", address, ": ", err.message()));
            });
        };
    }
    watch_failures_ = std::move(stores.watch_failures);
    if (watch_failures_) watch_failures_([this](std::vector<auth::RemoteFailure> failures) { count_remote_failures(failures); });
    // Another node or `ferryd user` changed the accounts in the database: apply it now.
    accounts_->notify_changes([this] {
        if (!stopping_) pool_->submit([this] { check_accounts_now(); });
    });
}

Server::~Server() {
    accounts_->notify_changes(nullptr);  // no more jobs from the store's thread
    if (watch_failures_) watch_failures_(nullptr);
    // The pool first: it takes no job any more, drops its queued ones and lets the running ones
    // finish while the reactors still run, so that what those post (a continuation holding a
    // CommandToken) reaches a live loop. Then the reactors stop. Its object stays until the
    // sessions are gone: they may still submit (and have it dropped).
    context_.pending_digests.abandon_all();  // an upload's digest would keep the pool for seconds
    io_pool_->stop();
    pool_->stop();
    for (auto& worker : workers_) {
        worker->reactor.stop();
        if (worker->thread.joinable()) worker->thread.join();
    }
}

std::optional<net::TlsContext> load_tls_context(const Config& config, bool* ok) {
    *ok = true;
    if (config.tls == TlsMode::off) return std::nullopt;
    std::string error;
    bool generated = false;
    if (config.tls_self_signed && !net::ensure_self_signed(config.tls_cert, config.tls_key, &error, &generated)) {
        log::error(cat("tls_self_signed: ", error));
        *ok = false;
        return std::nullopt;
    }
    if (generated) log::info(cat("generated a self-signed certificate: ", config.tls_cert));
    auto context = net::TlsContext::server(config.tls_cert, config.tls_key, &error, config.ktls != KtlsMode::off);
    if (!context) {
        log::error(cat("tls: ", error));
        *ok = false;
        return std::nullopt;
    }
    log::info(cat("tls: certificate ", net::describe_certificate(*context)));
    if (const Status bad = net::check_certificate_dates(*context, &error))
        log::warn(cat("tls: ", error, ": clients that check certificates will refuse it"));
    // Asked here, before any reactor runs: the first ask may load the kernel's tls module.
    if (config.ktls == KtlsMode::off) {
        log::info("tls: data connections' records are sealed by OpenSSL (ktls = \"off\")");
    } else if (net::kernel_tls_available()) {
        log::info("tls: data connections' records are sealed by the kernel (kTLS)");
    } else {
        log::info("tls: data connections' records are sealed by OpenSSL: this kernel has no kTLS");
    }
    return std::move(*context);
}

std::optional<std::vector<BoundListener>> bind_listeners(const Config& config) {
    std::vector<BoundListener> bound;
    using Entry = proto::Session::Entry;
    const std::pair<const std::vector<std::string>*, Entry> groups[] = {{&config.listen, Entry::plain},
                                                                        {&config.listen_implicit_tls, Entry::implicit_tls}};
    for (const auto& [addresses, entry] : groups) {
        const char* key = entry == Entry::implicit_tls ? "listen_implicit_tls" : "listen";
        for (const auto& text : *addresses) {
            auto address = net::Address::parse(text);
            if (!address) {
                log::error(cat(key, ": \"", text, "\" is not an address:port"));
                return std::nullopt;
            }
            auto socket = net::bind_listen(*address, 511);
            if (!socket) {
                log::error(cat(key, ": cannot listen on ", text, ": ", socket.error().message()));
                return std::nullopt;
            }
            bound.push_back(BoundListener{std::move(socket.value()), entry});
        }
    }
    return bound;
}

void Server::use_tls(net::TlsContext tls) { context_.tls.replace(std::make_shared<const net::TlsContext>(std::move(tls))); }

void Server::reload_tls() {
    if (!context_.tls) return;
    std::string error;
    auto next = net::TlsContext::server(config_.tls_cert, config_.tls_key, &error, config_.ktls != KtlsMode::off);
    Status err = next.error();
    if (!err) err = net::check_certificate_dates(*next, &error);
    if (err) return log::error(cat("tls: reload refused, the certificate in use stays: ", error));
    const std::string described = net::describe_certificate(*next);
    context_.tls.replace(std::make_shared<const net::TlsContext>(std::move(*next)));
    log::info(cat("tls: reloaded ", config_.tls_cert, " (", described, "); connected sessions keep theirs"));
}

void Server::open_listeners(std::vector<BoundListener> bound) {
    for (auto& bound_listener : bound) {
        const auto entry = bound_listener.entry;
        auto listener = std::make_unique<net::Listener>(acceptor_, std::move(bound_listener.socket),
                                                        [this, entry](Socket connection, net::Address peer) {
                                                            accept(std::move(connection), std::move(peer), entry);
                                                        });
        log::info(cat(entry == proto::Session::Entry::implicit_tls ? "listening (implicit TLS) on " : "listening on ",
                      listener->local_address().to_string()));
        listeners_.push_back(std::move(listener));
    }
}

void Server::accept(Socket connection, net::Address peer, proto::Session::Entry entry) {
    if (config_.proxy_protocol) return read_proxy_header(std::move(connection), std::move(peer), entry);
    admit(std::move(connection), peer, false, entry);
}

// Only a trusted balancer may say who the client is; anyone else, or a connection without a valid
// header, is closed without a word (a reply would be FTP spoken to something that is not a client).
void Server::read_proxy_header(Socket connection, net::Address balancer, proto::Session::Entry entry) {
    const std::string ip = balancer.ip();
    if (std::none_of(proxy_trusted_.begin(), proxy_trusted_.end(), [&](const auth::Network& n) { return n.contains(ip); })) {
        log::warn(cat("proxy_protocol: refused connection from ", balancer.to_string(), ": not in proxy_trusted"));
        return;
    }
    if (stopping_) return;
    const std::uint64_t id = next_proxy_reader_++;
    auto done = [this, id, balancer, entry](Socket socket, net::ProxyHeader header) {
        if (auto it = proxy_readers_.find(id); it != proxy_readers_.end()) {
            acceptor_.release_later(std::move(it->second));  // we are in its callback
            proxy_readers_.erase(it);
        }
        if (header.status != net::ProxyHeader::Status::done)
            return log::warn(cat("proxy_protocol: closed connection from ", balancer.to_string(), ": ", header.error));
        const net::Address client = header.source.value_or(balancer);
        log::info(cat("proxy_protocol: ", balancer.to_string(), " forwards ", header.source ? client.to_string() : "its own connection (LOCAL)"));
        admit(std::move(socket), client, true, entry);
    };
    proxy_readers_.emplace(id, std::make_unique<net::ProxyReader>(acceptor_, std::move(connection),
                                                                   config_.proxy_header_timeout, std::move(done)));
}

void Server::admit(Socket connection, const net::Address& peer, bool proxied, proto::Session::Entry entry) {
    const std::string ip = peer.ip();
    // Before anything costs us: no session, no TLS handshake, no argon2id for a banned address.
    if (std::string banned = context_.defender.refusal(ip, auth::WallClock::now()); !banned.empty()) {
        log::info(cat("defender: refused connection from ", peer.to_string(), ": ", banned));
        net::send_parting_words(connection, cat("421 ", auth::banned_reply, "\r\n"));
        return;
    }
    std::string why;
    if (context_.awaiting_login >= config_.max_sessions_unauthenticated) {
        log::info(cat("connection from ", peer.to_string(), " refused: too many sessions not logged in "
                      "(max_sessions_unauthenticated = ", config_.max_sessions_unauthenticated, ")"));
        net::send_parting_words(connection, "421 Too many connections waiting to log in; try again later.\r\n");
        return;
    }
    if (stopping_ || !limits_.try_admit(ip, why)) {
        if (stopping_) why = "shutting down";
        log::info(cat("connection from ", peer.to_string(), " refused: ", why));
        net::send_parting_words(connection, "421 Too many connections; try again later.\r\n");
        return;
    }
    if (const Status err = net::tune_control_socket(connection))
        log::warn(cat("connection from ", peer.to_string(), ": socket options: ", err.message()));
    ++context_.awaiting_login;  // the session counts itself out when it logs in or ends
    Worker* worker = workers_[next_worker_++ % workers_.size()].get();
    auto shared_connection = std::make_shared<Socket>(std::move(connection));
    std::optional<net::Address> client;
    if (proxied) client = peer;
    worker->reactor.post([this, worker, shared_connection, ip, entry, client] {
        auto on_finished = [this, worker, ip](proto::Session* session) {
            metrics::registry().sessions.fetch_sub(1, std::memory_order_relaxed);
            worker->sessions.erase(session);
            limits_.release(ip);
            worker->stop_when_empty();
        };
        auto session = std::make_unique<proto::Session>(
            worker->reactor, context_, net::make_stream(worker->reactor, std::move(*shared_connection)), entry,
            std::move(on_finished), client);
        proto::Session* raw = session.get();
        metrics::registry().sessions.fetch_add(1, std::memory_order_relaxed);
        metrics::registry().sessions_opened.add();
        worker->sessions.emplace(raw, std::move(session));
        raw->start();
        if (worker->shutting_down) raw->begin_shutdown();
    });
}

ScrapeInputs Server::scrape_inputs() const {
    ScrapeInputs inputs;
    inputs.cpu_pool_queued = pool_->queued();
    inputs.io_pool_queued = io_pool_->queued();
    inputs.awaiting_login = context_.awaiting_login.load();
    inputs.accounts = context_.quotas.top_usage(config_.metrics_top_accounts);
    inputs.folders = context_.folder_quotas.top_usage(config_.metrics_top_accounts);
    inputs.process = sys::process_stats();
    return inputs;
}

// `ferryd user quota|disable|del` and hand edits change the file under a running server; the
// sessions learn of it here. The check runs on the worker pool (it stats, and may parse, the
// file) and re-arms itself only when done, so checks never pile up.
void Server::schedule_accounts_check() {
    if (config_.accounts_check_interval.count() == 0 || stopping_) return;
    acceptor_.add_timer(config_.accounts_check_interval, [this] {
        if (stopping_) return;
        pool_->submit([this] {
            check_accounts_now();
            acceptor_.post([this] { schedule_accounts_check(); });
        });
    });
}

void Server::check_accounts_now() {
    std::lock_guard lock(accounts_check_mutex_);  // the timer's check and a notification's may overlap
    if (auto changed = accounts_->changed_since(accounts_seen_))
        apply_account_changes(std::make_shared<const auth::AccountsFile>(std::move(*changed)));
}

// A node's reservations expire reservation_ttl after their last renewal: renewed three times in
// that span, so one slow round trip never lets a live node's uploads lose theirs.
void Server::schedule_reservation_renewal() {
    if (!renew_reservations_ || stopping_) return;
    acceptor_.add_timer(std::chrono::milliseconds(config_.reservation_ttl) / 3, [this] {
        if (stopping_) return;
        pool_->submit([this] {
            if (const Status err = renew_reservations_())
                log::warn(cat("quota: could not renew this node's reservations: ", err.message()));
            acceptor_.post([this] { schedule_reservation_renewal(); });
        });
    });
}

// Worker pool. Quota limits are read from the store itself, not from `accounts`, so a SITE
// SETQUOTA made since the snapshot is not undone.
void Server::apply_account_changes(std::shared_ptr<const auth::AccountsFile> accounts) {
    context_.quotas.refresh_all([this](const std::string& name) { return context_.quota_limit_of(name); });
    context_.folder_quotas.refresh_all([&](const std::string& name) -> std::optional<std::uint64_t> {
        const auth::SharedFolder* folder = accounts->find_folder(name);
        return folder ? std::optional(folder->quota) : std::nullopt;
    });
    context_.policies.refresh_all(*accounts);
    context_.rates.refresh([&](const std::string& user, proto::UserRates::Direction direction) -> std::optional<std::uint64_t> {
        const auth::Account* account = accounts->find(user);
        if (!account) return std::nullopt;
        const auth::Limits limits = accounts->policy_of(*account).limits();
        const auto rate = direction == proto::UserRates::Direction::upload ? limits.upload_rate : limits.download_rate;
        return rate.value_or(0);
    });
    close_sessions([accounts](std::string_view user) -> std::optional<Closing> {
        const auth::Account* account = accounts->find(user);
        if (!account) return deleted;
        if (account->disabled) return Closing{"account disabled", "Your account has been disabled."};
        return std::nullopt;
    });
}

// Another node's failed logins count here as if they were ours, so every node bans at the same
// threshold, and no guesser gets `ban_threshold` tries per node. Store thread.
void Server::count_remote_failures(const std::vector<auth::RemoteFailure>& failures) {
    for (const auto& failure : failures) {
        const auth::FailureOutcome outcome = context_.defender.failed(failure.address, failure.account, failure.at);
        if (!outcome.new_ban) continue;
        const auth::Ban ban = *outcome.new_ban;
        log::warn(cat("defender: banned ", ban.group, " until ", auth::format_utc(ban.until), " (", ban.reason, ", ban ",
                      ban.count, "; failed logins on other nodes counted)"));
        context_.record_ban(ban);
    }
}

// `ferryd ban remove` edits bans_file under a running server; the file is the truth, so the bans
// in memory are replaced by it whenever it changed (the server's own writes included).
void Server::schedule_bans_check(std::chrono::seconds delay) {
    if (stopping_ || config_.ban_threshold == 0) return;
    acceptor_.add_timer(delay, [this] {
        if (stopping_) return;
        pool_->submit([this] {
            load_bans_if_changed();
            const auto every = config_.accounts_check_interval.count() ? config_.accounts_check_interval
                                                                       : std::chrono::seconds(5);
            acceptor_.post([this, every] { schedule_bans_check(every); });
        });
    });
}

void Server::load_bans_if_changed() {
    const FileStamp stamp = stamp_of(config_.bans_file);
    if (bans_seen_ == stamp) return;
    bans_seen_ = stamp;
    std::string error;
    auto bans = auth::load_bans(config_.bans_file, &error);
    if (!bans) return log::error(cat("bans_file: keeping the bans in memory: ", error));
    context_.defender.set_bans(*bans);
}

// Homes of deleted accounts wait in root/.deleted for deleted_retention days; checked at start
// and then daily, on the pool (it may remove large trees).
void Server::schedule_retired_homes_pruning(std::chrono::seconds delay) {
    if (config_.deleted_retention_days == 0 || stopping_) return;
    acceptor_.add_timer(delay, [this] {
        if (stopping_) return;
        pool_->submit([this] {
            fs::prune_retired_homes(config_.root, std::chrono::hours(24) * config_.deleted_retention_days,
                                    std::time(nullptr));
            acceptor_.post([this] { schedule_retired_homes_pruning(std::chrono::hours(24)); });
        });
    });
}

void Server::run() {
    schedule_accounts_check();
    schedule_reservation_renewal();
    schedule_retired_homes_pruning(std::chrono::seconds(1));
    load_bans_if_changed();  // bans survive restarts
    schedule_bans_check(std::chrono::seconds(1));
    for (auto& worker : workers_) {
        Worker* w = worker.get();
        w->thread = std::thread([w] { w->reactor.run(); });
    }
    acceptor_.run();
    for (auto& worker : workers_)
        if (worker->thread.joinable()) worker->thread.join();
    finish_shutdown();
}

void Server::reopen_logs() {
    const bool log_ok = config_.log_file.empty() || log::open(config_.log_file);
    const int log_errno = errno;
    const bool xferlog_ok = xferlog_.open(config_.xferlog);
    const int xferlog_errno = errno;
    if (!log_ok) log::error(cat("log_file: cannot reopen ", config_.log_file, ": ", std::strerror(log_errno)));
    if (!xferlog_ok) log::error(cat("xferlog: cannot reopen ", config_.xferlog, ": ", std::strerror(xferlog_errno)));
    log::info(cat("SIGHUP: reopened ", config_.log_file.empty() ? std::string("(stderr)") : config_.log_file,
                  config_.xferlog.empty() ? std::string() : cat(" and ", config_.xferlog)));
}

void Server::stop() {
    if (stopping_.exchange(true)) return;
    acceptor_.post([this] { begin_shutdown(); });
}

// Stop accepting; idle sessions get 421 now, transferring ones when done or at the grace limit.
// Each worker reports back when it has no session left; the acceptor's loop then ends.
void Server::begin_shutdown() {
    log::info(cat("shutting down: ", limits_.total(), " sessions open, transfers get up to ",
                  config_.shutdown_grace.count(), " s"));
    listeners_.clear();
    proxy_readers_.clear();  // connections still waiting for their header are closed
    auto remaining = std::make_shared<std::size_t>(workers_.size());
    for (auto& worker : workers_) {
        Worker* w = worker.get();
        w->reactor.post([this, w, remaining] {
            w->shutting_down = true;
            w->on_drained = [this, remaining] {
                acceptor_.post([this, remaining] {
                    if (--*remaining == 0) acceptor_.stop();
                });
            };
            for (auto* session : session_list(*w)) session->begin_shutdown();
            w->stop_when_empty();
        });
    }
    acceptor_.add_timer(config_.shutdown_grace, [this] {
        log::info("shutdown grace time is over: closing the remaining sessions");
        for (auto& worker : workers_) {
            Worker* w = worker.get();
            w->reactor.post([w] {
                for (auto* session : session_list(*w)) session->close_now(421, "Server shutting down.");
            });
        }
    });
}

std::vector<proto::Session*> Server::session_list(Worker& worker) {
    std::vector<proto::Session*> sessions;
    for (auto& entry : worker.sessions) sessions.push_back(entry.first);
    return sessions;
}

void Server::finish_shutdown() { log::info("all sessions closed; bye"); }

}  // namespace ferry::app
