// The accounts store and, for several nodes, the shared quota ledger that a config names:
// accounts = "file" (users_file; the default) or "postgresql" (db/pg_accounts.hpp; Linux builds).
#pragma once
#include "app/config.hpp"
#include "auth/accounts.hpp"
#include "auth/defender.hpp"
#include "auth/user_sessions.hpp"
#include "fs/quota.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ferry::app {

// What several nodes share besides the accounts; every member is empty for the file store.
struct Stores {
    std::unique_ptr<auth::AccountStore> accounts;
    std::shared_ptr<fs::UsageLedger> usage;        // nullptr: quotas in this process's memory
    std::shared_ptr<fs::UsageLedger> folder_usage; // the same for shared folders' quotas
    std::shared_ptr<auth::SessionLedger> sessions; // max_sessions_per_user across nodes
    std::function<Status()> renew;                 // keeps this node's reservations and sessions alive
    // Blocking (worker pool): tells the other nodes of a failed login here.
    std::function<Status(const std::string& address, const std::string& account)> publish_failure;
    // The others' failed logins, on the store's thread; nullptr stops them.
    std::function<void(std::function<void(std::vector<auth::RemoteFailure>)>)> watch_failures;
};

// Opens (and for PostgreSQL connects and migrates) the store. watch: the server's (LISTEN for
// changes); the command line does without. nullopt with *error when it cannot.
std::optional<Stores> open_stores(const Config& config, bool watch, std::string* error);

// node_name, or the host name.
std::string node_name(const Config& config);

// `ferryd user rescan`: the stored usage of a shared quota set from a measurement of the home.
Status rescan_stored_usage(const Config& config, const std::string& user, std::uint64_t used, std::string* error);

// `ferryd db migrate`: creates or migrates the schema; prints what it did.
int run_db_command(const Config& config, const std::vector<std::string>& args);

}  // namespace ferry::app
