// libpq wrappers (see pg.hpp).
#include "db/pg.hpp"

#include <libpq-fe.h>

#include <cstdlib>

namespace ferry::db {
namespace {

// libpq's messages end in "\n" and may span lines; ours are one line each.
std::string one_line(const char* message) {
    std::string text = message ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (char& c : text)
        if (c == '\n') c = ' ';
    return text;
}

}  // namespace

void Rows::Free::operator()(pg_result* r) const { PQclear(r); }
Rows::Rows(pg_result* result) : result_(result) {}
int Rows::count() const { return result_ ? PQntuples(result_.get()) : 0; }
bool Rows::null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
std::string Rows::text(int row, int column) const {
    return std::string(PQgetvalue(result_.get(), row, column), PQgetlength(result_.get(), row, column));
}
std::int64_t Rows::integer(int row, int column) const {
    return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}
bool Rows::boolean(int row, int column) const { return PQgetvalue(result_.get(), row, column)[0] == 't'; }

void Connection::Close::operator()(pg_conn* c) const { PQfinish(c); }

Result<Connection> Connection::open(const std::string& conninfo, std::string* error) {
    // connect_timeout: an unreachable server must not hold a pool thread for long.
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {conninfo.c_str(), "5", "ferryd", nullptr};
    Connection connection(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
    if (!connection.conn_) {
        if (error) *error = "postgresql: out of memory";
        return Errc::no_memory;
    }
    if (PQstatus(connection.conn_.get()) != CONNECTION_OK) {
        if (error) *error = "postgresql: " + one_line(PQerrorMessage(connection.conn_.get()));
        return Errc::refused;
    }
    // Nothing ferryd asks takes long; a query that does is a stuck server or lock. NOTICEs
    // ("relation already exists, skipping") are not ours to print.
    if (const Status err = connection.run("SET statement_timeout = '10s'; SET client_min_messages = warning", error))
        return err;
    return connection;
}

Result<Rows> Connection::query(std::string_view sql, const std::vector<std::optional<std::string>>& params,
                               std::string* error) {
    if (!conn_) {
        if (error) *error = "postgresql: not connected";
        return Errc::not_connected;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
    const std::string text(sql);
    PGresult* result = PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                                    values.data(), nullptr, nullptr, 0);
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    Rows rows(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
    if (error) *error = "postgresql: " + one_line(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get()));
    return healthy() ? Errc::invalid : Errc::not_connected;
}

Status Connection::run(std::string_view sql, std::string* error) {
    if (!conn_) {
        if (error) *error = "postgresql: not connected";
        return Errc::not_connected;
    }
    const std::string text(sql);
    PGresult* result = PQexec(conn_.get(), text.c_str());
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    Rows rows(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return {};
    if (error) *error = "postgresql: " + one_line(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get()));
    return healthy() ? Errc::invalid : Errc::not_connected;
}

bool Connection::healthy() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }
int Connection::socket() const { return conn_ ? PQsocket(conn_.get()) : -1; }

Status Connection::consume(std::string* error) {
    if (conn_ && PQconsumeInput(conn_.get()) == 1) return {};
    if (error) *error = "postgresql: " + one_line(conn_ ? PQerrorMessage(conn_.get()) : "not connected");
    return Errc::not_connected;
}

std::vector<std::string> Connection::notifications() {
    std::vector<std::string> channels;
    while (PGnotify* notify = conn_ ? PQnotifies(conn_.get()) : nullptr) {
        channels.emplace_back(notify->relname);
        PQfreemem(notify);
    }
    return channels;
}

ConnectionPool::Lease::~Lease() {
    if (pool_ && connection_) pool_->give_back(std::move(*connection_));
}

Result<ConnectionPool::Lease> ConnectionPool::take(std::string* error) {
    {
        std::lock_guard lock(mutex_);
        while (!idle_.empty()) {
            Connection connection = std::move(idle_.back());
            idle_.pop_back();
            if (connection.healthy()) return Lease(*this, std::move(connection));
        }
    }
    auto connection = Connection::open(conninfo_, error);
    if (!connection) return connection.error();
    return Lease(*this, std::move(*connection));
}

void ConnectionPool::drop_idle() {
    std::lock_guard lock(mutex_);
    idle_.clear();
}

void ConnectionPool::give_back(Connection connection) {
    if (!connection.healthy()) return;  // broken: closed here, a fresh one next time
    std::lock_guard lock(mutex_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

}  // namespace ferry::db
