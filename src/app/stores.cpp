// Which store a config names (see stores.hpp).
#include "app/stores.hpp"

#include "base/log.hpp"
#include "sys/process.hpp"

#include <iostream>

#ifdef FERRY_POSTGRESQL
#include "db/pg_accounts.hpp"
#include "db/schema.hpp"
#endif

namespace ferry::app {

std::string node_name(const Config& config) {
    if (!config.node_name.empty()) return config.node_name;
    const std::string host = sys::host_name();
    return host.empty() ? "ferryd" : host;
}

#ifdef FERRY_POSTGRESQL
namespace {
std::shared_ptr<db::ConnectionPool> connection_pool(const Config& config) {
    // One idle connection per pool thread and one spare: each pool job takes one for its query.
    return std::make_shared<db::ConnectionPool>(config.postgresql, config.pool_threads + 1);
}
}  // namespace
#endif

std::optional<Stores> open_stores(const Config& config, bool watch, std::string* error) {
    Stores stores;
    if (config.accounts == AccountsBackend::file) {
        stores.accounts = std::make_unique<auth::FileAccountStore>(config.users_file);
        return stores;
    }
#ifdef FERRY_POSTGRESQL
    auto pool = connection_pool(config);
    auto accounts = db::PgAccountStore::open(pool, watch, error);
    if (!accounts) return std::nullopt;
    auto ledger = std::make_shared<db::PgNodeLedger>(pool, node_name(config), config.default_quota,
                                                     std::chrono::milliseconds(config.reservation_ttl));
    if (watch) {
        // A node (re)starting under its name has no uploads or sessions, whatever a previous run left.
        if (const Status err = ledger->forget_previous_run()) {
            if (error) *error = "postgresql: cannot clear this node's previous reservations: " + err.message();
            return std::nullopt;
        }
    }
    db::PgAccountStore* store = accounts.get();
    stores.accounts = std::move(accounts);
    stores.usage = ledger;
    stores.folder_usage = std::make_shared<db::PgFolderLedger>(ledger);
    stores.sessions = ledger;
    stores.renew = [ledger] { return ledger->renew(); };
    stores.publish_failure = [ledger](const std::string& address, const std::string& account) {
        return ledger->record_failure(address, account);
    };
    stores.watch_failures = [store, ledger](std::function<void(std::vector<auth::RemoteFailure>)> failed) {
        auto source = failed ? ledger : nullptr;  // before `failed` is moved from
        store->notify_failures(std::move(source), std::move(failed));
    };
    return stores;
#else
    (void)watch;
    if (error) *error = "accounts = \"postgresql\" is not available in this build (Linux only)";
    return std::nullopt;
#endif
}

Status rescan_stored_usage(const Config& config, const std::string& user, std::uint64_t used, std::string* error) {
#ifdef FERRY_POSTGRESQL
    if (config.accounts == AccountsBackend::postgresql) {
        auto pool = connection_pool(config);
        return db::rescan_usage(*pool, user, used, error);
    }
#endif
    (void)config, (void)user, (void)used;
    if (error) *error = "the stored usage is kept only with accounts = \"postgresql\"; a single node measures the home at the first login";
    return Errc::unsupported;
}

int run_db_command(const Config& config, const std::vector<std::string>& args) {
    if (args.size() != 1 || args[0] != "migrate") {
        std::cerr << "usage: ferryd db migrate [--config FILE]\n";
        return 2;
    }
#ifdef FERRY_POSTGRESQL
    if (config.accounts != AccountsBackend::postgresql) {
        std::cerr << "ferryd: db migrate: the config keeps accounts in a file (accounts = \"file\")\n";
        return 2;
    }
    std::string error;
    auto connection = db::Connection::open(config.postgresql, &error);
    int from = 0;
    if (!connection || db::migrate(*connection, &from, &error)) {
        std::cerr << "ferryd: db migrate: " << error << "\n";
        return 1;
    }
    if (from == db::schema_version)
        std::cout << "schema version " << from << ": up to date\n";
    else
        std::cout << "schema version " << from << " -> " << db::schema_version << "\n";
    return 0;
#else
    (void)config;
    std::cerr << "ferryd: db migrate: PostgreSQL is not available in this build (Linux only)\n";
    return 2;
#endif
}

}  // namespace ferry::app
