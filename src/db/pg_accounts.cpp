// Accounts and usage in PostgreSQL (see pg_accounts.hpp).
#include "db/pg_accounts.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "db/schema.hpp"

#include "sys/wait.hpp"

#include <algorithm>

namespace ferry::db {
namespace {

// Serialises changes of the accounts (not of usage) across nodes and `ferryd user`.
constexpr const char* accounts_lock = "SELECT pg_advisory_xact_lock(7305553226810377)";
constexpr const char* select_accounts =
    "SELECT name, password_hash, home, quota, admin, disabled, array_to_string(groups, ','), "
    "coalesce(to_char(expires, 'YYYY-MM-DD'), ''), settings FROM ferry_accounts ORDER BY name";
constexpr const char* select_groups = "SELECT name, settings FROM ferry_groups ORDER BY name";
constexpr const char* select_folders = "SELECT name, quota FROM ferry_folders ORDER BY name";

std::string quota_text(std::uint64_t quota) { return quota == unlimited_bytes ? "-1" : std::to_string(quota); }
std::uint64_t quota_value(std::int64_t stored) { return stored < 0 ? unlimited_bytes : static_cast<std::uint64_t>(stored); }
std::string flag(bool value) { return value ? "true" : "false"; }

// A row's settings; a malformed one (a hand edit) is logged and read as none.
auth::Settings settings_of(const std::string& owner, const std::string& text) {
    std::string error;
    auto settings = auth::settings_from_toml(text, &error);
    if (settings) return std::move(*settings);
    log::error(cat("postgresql: the settings of ", owner, " are malformed and ignored: ", error));
    return {};
}

std::vector<std::string> split_groups(std::string_view text) {
    std::vector<std::string> groups;
    while (!text.empty()) {
        const auto comma = text.find(',');
        groups.emplace_back(text.substr(0, comma));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return groups;
}

std::string joined_groups(const std::vector<std::string>& groups) {
    std::string text;
    for (const auto& group : groups) text += (text.empty() ? "" : ",") + group;
    return text;
}

Result<auth::AccountsFile> read_accounts(Connection& connection, std::string* error) {
    auth::AccountsFile file;
    auto folders = connection.query(select_folders, {}, error);
    if (!folders) return folders.error();
    for (int i = 0; i < folders->count(); ++i)
        if (!file.add_folder(auth::SharedFolder{folders->text(i, 0), quota_value(folders->integer(i, 1))}))
            log::error(cat("postgresql: folder \"", folders->text(i, 0), "\" breaks the name rules; ignored"));
    auto groups = connection.query(select_groups, {}, error);
    if (!groups) return groups.error();
    for (int i = 0; i < groups->count(); ++i) {
        const std::string name = groups->text(i, 0);
        if (!file.add_group(auth::Group{name, settings_of("group " + name, groups->text(i, 1))}))
            log::error(cat("postgresql: group \"", name, "\" breaks the name rules; ignored"));
    }
    auto rows = connection.query(select_accounts, {}, error);
    if (!rows) return rows.error();
    for (int i = 0; i < rows->count(); ++i) {
        auth::Account account{.name = rows->text(i, 0), .password_hash = rows->text(i, 1), .home = rows->text(i, 2),
                              .quota = quota_value(rows->integer(i, 3)), .admin = rows->boolean(i, 4),
                              .disabled = rows->boolean(i, 5), .groups = split_groups(rows->text(i, 6)),
                              .settings = settings_of(rows->text(i, 0), rows->text(i, 8)),
                              .expires = auth::Date::parse(rows->text(i, 7)), .blocked = {}};
        // A group deleted by hand is skipped, as the accounts file would refuse to name it.
        std::erase_if(account.groups, [&](const std::string& group) { return !file.find_group(group); });
        const std::string name = account.name;
        if (!file.add(std::move(account))) log::error(cat("postgresql: account \"", name, "\" breaks the name rules; ignored"));
    }
    return file;
}

bool same_account(const auth::Account& a, const auth::Account& b) {
    return a.password_hash == b.password_hash && a.home == b.home && a.quota == b.quota && a.admin == b.admin &&
           a.disabled == b.disabled && a.groups == b.groups && a.expires == b.expires && a.settings == b.settings;
}

Status write_groups(Connection& connection, const auth::AccountsFile& before, const auth::AccountsFile& after,
                    std::string* error) {
    for (const auto& [name, group] : after.groups()) {
        const auth::Group* old = before.find_group(name);
        if (old && old->settings == group.settings) continue;
        const char* sql = "INSERT INTO ferry_groups (name, settings) VALUES ($1, $2) "
                          "ON CONFLICT (name) DO UPDATE SET settings = excluded.settings";
        if (const Status err = connection.query(sql, {name, auth::settings_toml(group.settings, "")}, error).error()) return err;
    }
    return {};
}

Status delete_groups(Connection& connection, const auth::AccountsFile& before, const auth::AccountsFile& after,
                     std::string* error) {
    for (const auto& [name, group] : before.groups())
        if (!after.find_group(name))
            if (const Status err = connection.query("DELETE FROM ferry_groups WHERE name = $1", {name}, error).error()) return err;
    return {};
}

// New folders and changed quotas (usage stays as it is); gone folders (their files stay on disk).
Status write_folders(Connection& connection, const auth::AccountsFile& before, const auth::AccountsFile& after,
                     std::string* error) {
    for (const auto& [name, folder] : after.folders()) {
        const auth::SharedFolder* old = before.find_folder(name);
        if (old && old->quota == folder.quota) continue;
        const char* sql = "INSERT INTO ferry_folders (name, quota) VALUES ($1, $2) "
                          "ON CONFLICT (name) DO UPDATE SET quota = excluded.quota";
        if (const Status err = connection.query(sql, {name, quota_text(folder.quota)}, error).error()) return err;
    }
    for (const auto& [name, folder] : before.folders())
        if (!after.find_folder(name))
            if (const Status err = connection.query("DELETE FROM ferry_folders WHERE name = $1", {name}, error).error()) return err;
    return {};
}

// The statements that turn `before` into `after`, in the open transaction.
Status write_difference(Connection& connection, const auth::AccountsFile& before, const auth::AccountsFile& after,
                        std::string* error) {
    // Groups first, so that accounts may name the new ones; gone groups last, when no account names them.
    if (const Status err = write_folders(connection, before, after, error)) return err;
    if (const Status err = write_groups(connection, before, after, error)) return err;
    for (const auto& [name, account] : before.all())
        if (!after.find(name))
            if (const Status err = connection.query("DELETE FROM ferry_accounts WHERE name = $1", {name}, error).error())
                return err;
    for (const auto& [name, account] : after.all()) {
        const auth::Account* old = before.find(name);
        if (old && same_account(*old, account)) continue;
        const std::vector<std::optional<std::string>> values{
            name, auth::folded_name(name), account.password_hash, account.home, quota_text(account.quota), flag(account.admin),
            flag(account.disabled), joined_groups(account.groups), account.expires ? account.expires->text() : "",
            auth::settings_toml(account.settings, "")};
        const char* sql = old ? "UPDATE ferry_accounts SET password_hash = $3, home = $4, quota = $5, admin = $6, "
                                "disabled = $7, groups = string_to_array($8, ','), expires = nullif($9, '')::date, "
                                "settings = $10 WHERE name = $1 AND folded = $2"
                              : "INSERT INTO ferry_accounts (name, folded, password_hash, home, quota, admin, disabled, "
                                "groups, expires, settings) VALUES ($1, $2, $3, $4, $5, $6, $7, string_to_array($8, ','), "
                                "nullif($9, '')::date, $10)";
        if (const Status err = connection.query(sql, values, error).error()) return err;
    }
    return delete_groups(connection, before, after, error);
}

void rollback(Connection& connection) {
    std::string ignored;
    connection.run("ROLLBACK", &ignored);
}

}  // namespace

std::unique_ptr<PgAccountStore> PgAccountStore::open(std::shared_ptr<ConnectionPool> pool, bool watch, std::string* error) {
    auto lease = pool->take(error);
    if (!lease) return nullptr;
    int from = 0;
    if (migrate(**lease, &from, error)) return nullptr;
    if (from != schema_version)
        log::info(cat("postgresql: schema ", from == 0 ? std::string("created") : cat("migrated from version ", from),
                      " (version ", schema_version, ")"));
    std::unique_ptr<PgAccountStore> store(new PgAccountStore(std::move(pool)));
    if (store->reload(**lease, error)) return nullptr;
    if (watch) store->watcher_ = std::thread([raw = store.get()] { raw->watch_loop(); });
    return store;
}

PgAccountStore::~PgAccountStore() {
    stopping_ = true;
    if (watcher_.joinable()) watcher_.join();
}

Status PgAccountStore::reload(Connection& connection, std::string* error) {
    auto loaded = read_accounts(connection, error);
    if (!loaded) return loaded.error();
    std::lock_guard lock(mutex_);
    cache_ = std::move(*loaded);
    ++generation_;
    return {};
}

std::optional<auth::Account> PgAccountStore::find(std::string_view name) {
    std::lock_guard lock(mutex_);
    const auth::Account* account = cache_.find(name);
    if (!account) return std::nullopt;
    return *account;
}

std::optional<auth::AccountAndPolicy> PgAccountStore::find_with_policy(std::string_view name) {
    std::lock_guard lock(mutex_);
    const auth::Account* account = cache_.find(name);
    if (!account) return std::nullopt;
    return auth::AccountAndPolicy{*account, cache_.policy_of(*account)};
}

Status PgAccountStore::modify(const std::function<Status(auth::AccountsFile&)>& change, std::string* error) {
    // A connection found dead at BEGIN is replaced (run() retries); nothing was done on it.
    auto done = pool_->run(error, [&](Connection& connection) -> Result<bool> {
        if (const Status err = connection.run("BEGIN", error)) return err;
        Status status = connection.run(accounts_lock, error);
        auto before = status ? Result<auth::AccountsFile>(status) : read_accounts(connection, error);
        if (!before) {
            rollback(connection);
            return before.error() == Errc::not_connected ? Errc::io : before.error();  // no retry mid-transaction
        }
        auth::AccountsFile after = *before;
        if (const Status refused = change(after)) {
            rollback(connection);
            return refused == Errc::not_connected ? Errc::io : refused;
        }
        status = write_difference(connection, *before, after, error);
        if (!status) status = connection.run("COMMIT", error);
        if (status) {
            rollback(connection);
            return status == Errc::not_connected ? Errc::io : status;
        }
        std::string ignored;
        reload(connection, &ignored);  // our own change is visible to the next find() at once
        return true;
    });
    return done.error();
}

std::optional<auth::AccountsFile> PgAccountStore::changed_since(std::uint64_t& seen) {
    std::lock_guard lock(mutex_);
    if (seen == generation_) return std::nullopt;
    seen = generation_;
    return cache_;
}

Result<auth::AccountsFile> PgAccountStore::load(std::string* error) {
    return pool_->run(error, [&](Connection& connection) { return read_accounts(connection, error); });
}

void PgAccountStore::notify_changes(std::function<void()> changed) {
    std::lock_guard lock(mutex_);
    changed_ = std::move(changed);
}

void PgAccountStore::notify_failures(std::shared_ptr<PgNodeLedger> ledger, std::function<void(std::vector<RemoteFailure>)> failed) {
    std::lock_guard lock(failures_mutex_);
    failures_ledger_ = std::move(ledger);
    failed_ = std::move(failed);
    if (failures_ledger_) failures_ledger_->failures_since(&last_failure_);  // from now on
}

// Watcher thread. Under failures_mutex_, so none runs after notify_failures(nullptr, nullptr); not
// under mutex_, which every login's find() takes: a database round trip must not hold those up.
void PgAccountStore::fetch_failures() {
    std::lock_guard lock(failures_mutex_);
    if (!failures_ledger_ || !failed_) return;
    auto failures = failures_ledger_->failures_since(&last_failure_);
    if (failures && !failures->empty()) failed_(std::move(*failures));
}

// Under the lock, so that once notify_changes(nullptr) returned no call is under way.
void PgAccountStore::tell_changed() {
    std::lock_guard lock(mutex_);
    if (changed_) changed_();
}

// The LISTEN connection: reload at every notification and after every reconnect (changes made
// while it was away were not announced to it), and say when it is lost or back.
void PgAccountStore::watch_loop() {
    using namespace std::chrono_literals;
    bool announced_loss = false;
    while (!stopping_) {
        std::string error;
        auto connection = Connection::open(pool_->conninfo(), &error);
        Status err = connection ? connection->run(cat("LISTEN ", accounts_channel, "; LISTEN ", failures_channel), &error)
                                : connection.error();
        if (!err) err = reload(*connection, &error);
        if (err) {
            available_ = false;
            if (!announced_loss) log::error(cat(error, "; logins and uploads are refused until the database is back"));
            announced_loss = true;
            for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(100ms);
            continue;
        }
        if (announced_loss) log::info("postgresql: connected again; logins and uploads go on");
        announced_loss = false;
        available_ = true;
        tell_changed();
        fetch_failures();  // those recorded while this node was away
        err = listen_until_lost(*connection, &error);
        if (err && !stopping_) {
            available_ = false;
            pool_->drop_idle();  // they went with the server
            log::error(cat("postgresql: lost the connection: ", error, "; logins and uploads are refused until it is back"));
            announced_loss = true;
        }
    }
}

// Waits for notifications in slices of 200 ms (so a stop is seen); a quiet connection is checked
// every 2 s, so a database that went away is noticed even when nothing changes.
Status PgAccountStore::listen_until_lost(Connection& connection, std::string* error) {
    using namespace std::chrono_literals;
    auto last_check = std::chrono::steady_clock::now();
    while (!stopping_) {
        Status err;
        if (sys::wait_readable(connection.socket(), 200ms) == sys::Readiness::readable) {
            err = connection.consume(error);
            const auto channels = err ? std::vector<std::string>() : connection.notifications();
            auto announced = [&](const char* channel) { return std::find(channels.begin(), channels.end(), channel) != channels.end(); };
            if (announced(accounts_channel)) {
                err = reload(connection, error);
                if (!err) tell_changed();
            }
            if (announced(failures_channel)) fetch_failures();
        } else if (std::chrono::steady_clock::now() - last_check > 2s) {
            err = connection.run("SELECT 1", error);
            last_check = std::chrono::steady_clock::now();
        }
        if (err) return err;
    }
    return {};
}

// ---- usage ----

Result<Rows> PgNodeLedger::query(std::string_view sql, const std::vector<std::optional<std::string>>& params,
                                  const std::string& user) {
    std::string error;
    auto rows = pool_->run(&error, [&](Connection& connection) { return connection.query(sql, params, &error); });
    if (!rows) log::error(cat("quota of ", user, ": ", error));
    return rows;
}

namespace {

// The statements of one kind of owner: $1 is always its name.
struct UsageSql {
    const char* reserve;  // ($1, node, wanted, default quota, ttl ms) -> id, granted, held, used
    const char* settle;   // ($1, id, written) -> used
    const char* adjust;   // ($1, delta) -> used
    const char* stored;   // ($1) -> used, measured
    const char* record;   // ($1, used) -> used
};

constexpr UsageSql account_sql{
    "SELECT id, granted, held, used FROM ferry_reserve($1, $2, $3, $4, $5)",
    "SELECT ferry_settle($1, $2, $3)",
    "UPDATE ferry_accounts SET used = greatest(0, used + $2) WHERE name = $1 RETURNING used",
    "SELECT used, measured FROM ferry_accounts WHERE name = $1",
    "UPDATE ferry_accounts SET used = CASE WHEN measured THEN used ELSE $2 END, measured = true WHERE name = $1 RETURNING used",
};
constexpr UsageSql folder_sql{
    "SELECT id, granted, held, used FROM ferry_folder_reserve($1, $2, $3, $4, $5)",
    "SELECT ferry_folder_settle($1, $2, $3)",
    "UPDATE ferry_folders SET used = greatest(0, used + $2) WHERE name = $1 RETURNING used",
    "SELECT used, measured FROM ferry_folders WHERE name = $1",
    "UPDATE ferry_folders SET used = CASE WHEN measured THEN used ELSE $2 END, measured = true WHERE name = $1 RETURNING used",
};

const UsageSql& sql_of(UsageOwner owner) { return owner == UsageOwner::account ? account_sql : folder_sql; }

}  // namespace

Result<fs::UsageLedger::Grant> PgNodeLedger::reserve(UsageOwner owner, const std::string& name, std::uint64_t wanted) {
    if (const Status err = pay_what_is_owed()) return err;  // a grant against a stale figure could pass the quota
    auto rows = query(sql_of(owner).reserve,
                      {name, node_, std::to_string(wanted), quota_text(default_quota_), std::to_string(ttl_.count())}, name);
    if (!rows) return rows.error();
    return Grant{.id = static_cast<std::uint64_t>(rows->integer(0, 0)), .bytes = static_cast<std::uint64_t>(rows->integer(0, 1)),
                 .held = static_cast<std::uint64_t>(rows->integer(0, 2)), .used = static_cast<std::uint64_t>(rows->integer(0, 3))};
}

Result<std::uint64_t> PgNodeLedger::apply(const Owed& owed) {
    const UsageSql& sql = sql_of(owed.owner);
    auto rows = owed.id ? query(sql.settle, {owed.name, std::to_string(owed.id), std::to_string(owed.delta)}, owed.name)
                        : query(sql.adjust, {owed.name, std::to_string(owed.delta)}, owed.name);
    if (!rows) return rows.error();
    return rows->count() ? static_cast<std::uint64_t>(rows->integer(0, 0)) : 0;
}

// What the database missed while it was away, in the order it happened; stops at the first that
// still fails (the rest waits for the next call).
Status PgNodeLedger::pay_what_is_owed() {
    std::lock_guard lock(owed_mutex_);
    while (!owed_.empty()) {
        if (auto paid = apply(owed_.front()); !paid) return paid.error();
        owed_.pop_front();
    }
    return {};
}

// A change of usage that cannot reach the database is owed, never dropped: the bytes are on disk
// (or gone from it) whatever the database says, so it is told as soon as it is back.
Result<std::uint64_t> PgNodeLedger::apply_or_owe(Owed owed) {
    Result<std::uint64_t> result = Errc::not_connected;
    if (!pay_what_is_owed()) result = apply(owed);
    if (!result) {
        std::lock_guard lock(owed_mutex_);
        owed_.push_back(std::move(owed));
    }
    return result;
}

Result<std::uint64_t> PgNodeLedger::settle(UsageOwner owner, const std::string& name, std::uint64_t id, std::uint64_t written) {
    return apply_or_owe(Owed{owner, name, id, static_cast<std::int64_t>(written)});
}

Status PgNodeLedger::adjust(UsageOwner owner, const std::string& name, std::int64_t delta) {
    return apply_or_owe(Owed{owner, name, 0, delta}).error();
}

Result<std::optional<std::uint64_t>> PgNodeLedger::stored_usage(UsageOwner owner, const std::string& name) {
    auto rows = query(sql_of(owner).stored, {name}, name);
    if (!rows) return rows.error();
    if (rows->count() == 0) return Errc::not_found;
    if (!rows->boolean(0, 1)) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(rows->integer(0, 0)));
}

Result<std::uint64_t> PgNodeLedger::record_measurement(UsageOwner owner, const std::string& name, std::uint64_t used) {
    auto rows = query(sql_of(owner).record, {name, std::to_string(used)}, name);
    if (!rows) return rows.error();
    if (rows->count() == 0) return Errc::not_found;
    return static_cast<std::uint64_t>(rows->integer(0, 0));
}

Result<bool> PgNodeLedger::take(const std::string& user, unsigned limit) {
    auto rows = query("SELECT ferry_take_session($1, $2, $3, $4)",
                      {user, node_, std::to_string(limit), std::to_string(ttl_.count())}, user);
    if (!rows) return rows.error();
    return rows->boolean(0, 0);
}

Status PgNodeLedger::give_back(const std::string& user) {
    return query("UPDATE ferry_sessions SET count = greatest(0, count - 1) WHERE account = $1 AND node = $2",
                 {user, node_}, user).error();
}

Status PgNodeLedger::renew() {
    if (const Status err = pay_what_is_owed()) return err;
    const std::string ttl = std::to_string(ttl_.count());
    if (const Status err = query("UPDATE ferry_reservations SET expires = now() + $2 * interval '1 millisecond' "
                                 "WHERE node = $1", {node_, ttl}, "this node").error())
        return err;
    if (const Status err = query("UPDATE ferry_sessions SET expires = now() + $2 * interval '1 millisecond' "
                                 "WHERE node = $1", {node_, ttl}, "this node").error())
        return err;
    return query("DELETE FROM ferry_login_failures WHERE at < now() - interval '1 day'", {}, "this node").error();
}

Status PgNodeLedger::forget_previous_run() {
    if (const Status err = query("DELETE FROM ferry_reservations WHERE node = $1", {node_}, "this node").error())
        return err;
    return query("DELETE FROM ferry_sessions WHERE node = $1", {node_}, "this node").error();
}

Status PgNodeLedger::record_failure(const std::string& address, const std::string& account) {
    return query("INSERT INTO ferry_login_failures (address, account, node) VALUES ($1, $2, $3)",
                 {address, account, node_}, account).error();
}

Result<std::vector<RemoteFailure>> PgNodeLedger::failures_since(std::int64_t* last_id) {
    if (*last_id < 0) {
        auto rows = query("SELECT coalesce(max(id), 0) FROM ferry_login_failures", {}, "this node");
        if (!rows) return rows.error();
        *last_id = rows->integer(0, 0);
        return std::vector<RemoteFailure>();
    }
    auto rows = query("SELECT id, address, account, (extract(epoch from at) * 1000)::bigint FROM ferry_login_failures "
                      "WHERE id > $1 AND node <> $2 ORDER BY id",
                      {std::to_string(*last_id), node_}, "this node");
    if (!rows) return rows.error();
    std::vector<RemoteFailure> failures;
    for (int i = 0; i < rows->count(); ++i) {
        *last_id = std::max(*last_id, rows->integer(i, 0));
        failures.push_back({rows->text(i, 1), rows->text(i, 2),
                            auth::WallClock::time_point(std::chrono::milliseconds(rows->integer(i, 3)))});
    }
    return failures;
}

Status rescan_usage(ConnectionPool& pool, const std::string& user, std::uint64_t used, std::string* error) {
    auto lease = pool.take(error);
    if (!lease) return lease.error();
    auto rows = (*lease)->query(
        "UPDATE ferry_accounts SET used = $2, measured = true WHERE name = $1 AND NOT EXISTS "
        "(SELECT 1 FROM ferry_reservations r WHERE r.account = $1 AND r.expires > now()) RETURNING used",
        {user, std::to_string(used)}, error);
    if (!rows) return rows.error();
    if (rows->count() == 1) return {};
    auto held = (*lease)->query("SELECT count(*) FROM ferry_reservations r WHERE r.account = $1 AND r.expires > now()", {user}, error);
    if (held && held->integer(0, 0) > 0) {
        if (error) *error = cat(held->integer(0, 0), " uploads of ", user, " hold reservations; try again when they are done");
        return Errc::busy;
    }
    if (error) *error = "no account " + user;
    return Errc::not_found;
}

}  // namespace ferry::db
