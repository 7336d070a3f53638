// libpq, held the way the rest of ferryd holds resources: a Connection owns its PGconn, a Rows its
// PGresult, and every query takes its values as parameters ($1, $2, ...), never spliced into the
// text. Blocking: call it from the worker pool, a store thread or the command line, never from a
// reactor thread.
#pragma once
#include "base/result.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace ferry::db {

class Rows {
public:
    explicit Rows(pg_result* result = nullptr);
    int count() const;
    bool null(int row, int column) const;
    std::string text(int row, int column) const;
    std::int64_t integer(int row, int column) const;
    bool boolean(int row, int column) const;  // 't' / 'f'

private:
    struct Free {
        void operator()(pg_result* r) const;
    };
    std::unique_ptr<pg_result, Free> result_;
};

class Connection {
public:
    // Connects and sets a statement timeout (so a query never blocks a pool thread for ever).
    // The error says what libpq said, without the password.
    static Result<Connection> open(const std::string& conninfo, std::string* error);

    Connection() = default;  // not connected
    Connection(Connection&&) noexcept = default;
    Connection& operator=(Connection&&) noexcept = default;

    // One statement with text parameters (nullopt = NULL). Errors carry the server's message.
    Result<Rows> query(std::string_view sql, const std::vector<std::optional<std::string>>& params,
                       std::string* error);
    // Statements without parameters, several at once (migrations, BEGIN/COMMIT).
    Status run(std::string_view sql, std::string* error);
    // false once the server went away (the owner then opens a new one).
    bool healthy() const;
    // For LISTEN: the socket to wait on, and the notifications that arrived (channel names).
    int socket() const;
    Status consume(std::string* error);
    std::vector<std::string> notifications();

private:
    struct Close {
        void operator()(pg_conn* c) const;
    };
    explicit Connection(pg_conn* conn) : conn_(conn) {}
    std::unique_ptr<pg_conn, Close> conn_;
};

// A few connections shared by the pool threads: take one for a query or a transaction, give it
// back by letting the Lease go. A connection that broke is dropped and a new one opened next time.
class ConnectionPool {
public:
    ConnectionPool(std::string conninfo, std::size_t max_idle) : conninfo_(std::move(conninfo)), max_idle_(max_idle) {}
    class Lease {
    public:
        Lease() = default;
        Lease(ConnectionPool& pool, Connection connection) : pool_(&pool), connection_(std::move(connection)) {}
        Lease(Lease&&) noexcept = default;
        ~Lease();
        Connection* operator->() { return &*connection_; }
        Connection& operator*() { return *connection_; }

    private:
        ConnectionPool* pool_ = nullptr;
        std::optional<Connection> connection_;
    };
    Result<Lease> take(std::string* error);
    // Runs `query(connection)`, once more on a new connection if an idle one turned out to be
    // dead (the server restarted since it was last used): a restart costs no caller an error.
    template <class Query>
    auto run(std::string* error, Query query) -> decltype(query(std::declval<Connection&>())) {
        for (int attempt = 0;; ++attempt) {
            auto lease = take(error);
            if (!lease) return lease.error();
            auto result = query(**lease);
            if (result.error() != Errc::not_connected || attempt == 1) return result;
        }
    }
    // Closes the idle connections (their server went away).
    void drop_idle();
    const std::string& conninfo() const { return conninfo_; }

private:
    void give_back(Connection connection);
    std::string conninfo_;
    std::size_t max_idle_;
    std::mutex mutex_;
    std::vector<Connection> idle_;
};

}  // namespace ferry::db
