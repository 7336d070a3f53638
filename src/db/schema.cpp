// The schema, version by version (see schema.hpp). Quotas: `used` is what the account's files take
// on disk as far as the database knows; a reservation is bytes an upload on `node` may still write,
// until `expires` (renewed by the node while it lives), and counts against the quota like used bytes.
#include "db/schema.hpp"

#include <string>

namespace ferry::db {
namespace {

constexpr const char* version_1 = R"sql(
CREATE TABLE ferry_accounts (
    name          text PRIMARY KEY,
    folded        text NOT NULL UNIQUE,          -- the name without case: names are unique so
    password_hash text NOT NULL,
    home          text NOT NULL,
    quota         bigint NOT NULL DEFAULT 0,     -- bytes; 0 = default_quota, -1 = unlimited
    admin         boolean NOT NULL DEFAULT false,
    disabled      boolean NOT NULL DEFAULT false,
    used          bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    measured      boolean NOT NULL DEFAULT false -- used was measured from the home at least once
);
CREATE TABLE ferry_reservations (
    id      bigserial PRIMARY KEY,
    account text NOT NULL REFERENCES ferry_accounts(name) ON UPDATE CASCADE ON DELETE CASCADE,
    node    text NOT NULL,
    bytes   bigint NOT NULL CHECK (bytes > 0),
    expires timestamptz NOT NULL
);
CREATE INDEX ferry_reservations_account ON ferry_reservations (account);
CREATE INDEX ferry_reservations_node ON ferry_reservations (node);

-- Logged-in sessions per account and node (max_sessions_per_user across nodes); a node renews its
-- rows with its reservations, so a dead node's sessions stop counting after reservation_ttl.
CREATE TABLE ferry_sessions (
    account text NOT NULL REFERENCES ferry_accounts(name) ON UPDATE CASCADE ON DELETE CASCADE,
    node    text NOT NULL,
    count   integer NOT NULL CHECK (count >= 0),
    expires timestamptz NOT NULL,
    PRIMARY KEY (account, node)
);

-- Failed logins from every node, so each node's defender counts all of them (and bans alike).
CREATE TABLE ferry_login_failures (
    id      bigserial PRIMARY KEY,
    address text NOT NULL,
    account text NOT NULL,
    node    text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ferry_login_failures_at ON ferry_login_failures (at);
CREATE FUNCTION ferry_login_failed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ferry_failures', '');
    RETURN NULL;
END $$;
CREATE TRIGGER ferry_login_failed AFTER INSERT ON ferry_login_failures
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_login_failed();

-- One more session of the account on the node, if all nodes together have fewer than p_limit.
CREATE FUNCTION ferry_take_session(p_account text, p_node text, p_limit integer, p_ttl_ms bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    PERFORM 1 FROM ferry_accounts a WHERE a.name = p_account FOR UPDATE;
    IF NOT FOUND THEN RETURN false; END IF;
    SELECT coalesce(sum(s.count), 0) INTO v_count FROM ferry_sessions s
        WHERE s.account = p_account AND s.expires > now();
    IF v_count >= p_limit THEN RETURN false; END IF;
    INSERT INTO ferry_sessions AS s (account, node, count, expires)
        VALUES (p_account, p_node, 1, now() + p_ttl_ms * interval '1 millisecond')
        ON CONFLICT (account, node) DO UPDATE
        SET count = CASE WHEN s.expires > now() THEN s.count + 1 ELSE 1 END,
            expires = now() + p_ttl_ms * interval '1 millisecond';
    RETURN true;
END $$;

CREATE FUNCTION ferry_accounts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ferry_accounts', '');
    RETURN NULL;
END $$;
CREATE TRIGGER ferry_accounts_changed
    AFTER INSERT OR DELETE OR UPDATE OF name, password_hash, home, quota, admin, disabled ON ferry_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_accounts_changed();

-- One upload chunk: grants min(wanted, what is left) to `node` and returns (id, granted, held by
-- others). The account's row lock orders every reservation of one account across all nodes, and
-- each statement below sees what the ones before it committed, so the grants of all nodes
-- together never pass the quota. Expired reservations (of nodes that died) are dropped first.
CREATE FUNCTION ferry_reserve(p_account text, p_node text, p_wanted bigint, p_default_quota bigint,
                              p_ttl_ms bigint)
RETURNS TABLE (id bigint, granted bigint, held bigint, used bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_quota bigint;
    v_used  bigint;
    v_held  bigint;
    v_left  bigint;
    v_id    bigint;
BEGIN
    SELECT a.quota, a.used INTO v_quota, v_used FROM ferry_accounts a WHERE a.name = p_account FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, 0::bigint;
        RETURN;
    END IF;
    DELETE FROM ferry_reservations r WHERE r.account = p_account AND r.expires < now();
    SELECT coalesce(sum(r.bytes), 0) INTO v_held FROM ferry_reservations r WHERE r.account = p_account;
    IF v_quota = 0 THEN v_quota := p_default_quota; END IF;
    IF v_quota < 0 THEN
        v_left := p_wanted;
    ELSE
        v_left := greatest(0, least(p_wanted, v_quota - v_used - v_held));
    END IF;
    IF v_left = 0 THEN
        RETURN QUERY SELECT 0::bigint, 0::bigint, v_held, v_used;
        RETURN;
    END IF;
    INSERT INTO ferry_reservations (account, node, bytes, expires)
        VALUES (p_account, p_node, v_left, now() + p_ttl_ms * interval '1 millisecond')
        RETURNING ferry_reservations.id INTO v_id;
    RETURN QUERY SELECT v_id, v_left, v_held, v_used;
END $$;

-- The chunk is done: `written` of its bytes are now used, the rest is free again. Written bytes
-- count even when the reservation expired meanwhile: they are on disk.
CREATE FUNCTION ferry_settle(p_account text, p_id bigint, p_written bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_used bigint;
BEGIN
    DELETE FROM ferry_reservations r WHERE r.id = p_id;
    UPDATE ferry_accounts a SET used = greatest(0, a.used + p_written) WHERE a.name = p_account
        RETURNING a.used INTO v_used;
    RETURN coalesce(v_used, 0);
END $$;
)sql";

// The access policy (auth/policy.hpp): an account's groups, expiry and settings (TOML tables, as
// auth::settings_toml writes them), and the groups. Changes to either notify the nodes.
constexpr const char* version_2 = R"sql(
ALTER TABLE ferry_accounts
    ADD COLUMN groups   text[] NOT NULL DEFAULT '{}',
    ADD COLUMN expires  date,
    ADD COLUMN settings text NOT NULL DEFAULT '';
CREATE TABLE ferry_groups (
    name     text PRIMARY KEY,
    settings text NOT NULL DEFAULT ''
);
DROP TRIGGER ferry_accounts_changed ON ferry_accounts;
CREATE TRIGGER ferry_accounts_changed
    AFTER INSERT OR DELETE OR UPDATE OF name, password_hash, home, quota, admin, disabled, groups, expires, settings
    ON ferry_accounts FOR EACH STATEMENT EXECUTE FUNCTION ferry_accounts_changed();
CREATE TRIGGER ferry_groups_changed AFTER INSERT OR DELETE OR UPDATE ON ferry_groups
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_accounts_changed();
)sql";

// Shared folders (auth::SharedFolder): each with a quota of its own, counted as an account's is,
// with reservations of their own (a reservation belongs to an account or to a folder). Grants of
// folders live in the accounts' and groups' settings.
constexpr const char* version_3 = R"sql(
CREATE TABLE ferry_folders (
    name     text PRIMARY KEY,
    quota    bigint NOT NULL DEFAULT -1,          -- bytes; -1 = unlimited
    used     bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    measured boolean NOT NULL DEFAULT false
);
ALTER TABLE ferry_reservations
    ALTER COLUMN account DROP NOT NULL,
    ADD COLUMN folder text REFERENCES ferry_folders(name) ON UPDATE CASCADE ON DELETE CASCADE,
    ADD CONSTRAINT ferry_reservations_owner CHECK ((account IS NULL) <> (folder IS NULL));
CREATE INDEX ferry_reservations_folder ON ferry_reservations (folder);
CREATE TRIGGER ferry_folders_changed AFTER INSERT OR DELETE OR UPDATE OF name, quota ON ferry_folders
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_accounts_changed();

-- ferry_reserve for a folder: the folder's row lock orders the reservations of every account and
-- node writing into it. p_default_quota is not used (a folder without a quota has none).
CREATE FUNCTION ferry_folder_reserve(p_folder text, p_node text, p_wanted bigint, p_default_quota bigint,
                                     p_ttl_ms bigint)
RETURNS TABLE (id bigint, granted bigint, held bigint, used bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_quota bigint;
    v_used  bigint;
    v_held  bigint;
    v_left  bigint;
    v_id    bigint;
BEGIN
    SELECT f.quota, f.used INTO v_quota, v_used FROM ferry_folders f WHERE f.name = p_folder FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 0::bigint, 0::bigint, 0::bigint, 0::bigint;
        RETURN;
    END IF;
    DELETE FROM ferry_reservations r WHERE r.folder = p_folder AND r.expires < now();
    SELECT coalesce(sum(r.bytes), 0) INTO v_held FROM ferry_reservations r WHERE r.folder = p_folder;
    IF v_quota < 0 THEN
        v_left := p_wanted;
    ELSE
        v_left := greatest(0, least(p_wanted, v_quota - v_used - v_held));
    END IF;
    IF v_left = 0 THEN
        RETURN QUERY SELECT 0::bigint, 0::bigint, v_held, v_used;
        RETURN;
    END IF;
    INSERT INTO ferry_reservations (folder, node, bytes, expires)
        VALUES (p_folder, p_node, v_left, now() + p_ttl_ms * interval '1 millisecond')
        RETURNING ferry_reservations.id INTO v_id;
    RETURN QUERY SELECT v_id, v_left, v_held, v_used;
END $$;

CREATE FUNCTION ferry_folder_settle(p_folder text, p_id bigint, p_written bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_used bigint;
BEGIN
    DELETE FROM ferry_reservations r WHERE r.id = p_id;
    UPDATE ferry_folders f SET used = greatest(0, f.used + p_written) WHERE f.name = p_folder
        RETURNING f.used INTO v_used;
    RETURN coalesce(v_used, 0);
END $$;
)sql";

struct Step {
    int version;
    const char* sql;
};
constexpr Step steps[] = {{1, version_1}, {2, version_2}, {3, version_3}};

// Any 64-bit number that is ferryd's own; the lock is held by this session until it ends or unlocks.
constexpr const char* migration_lock = "SELECT pg_advisory_lock(7305553226810376)";
constexpr const char* migration_unlock = "SELECT pg_advisory_unlock(7305553226810376)";

Result<int> current_version(Connection& connection, std::string* error) {
    if (const Status err = connection.run("CREATE TABLE IF NOT EXISTS ferry_schema (version integer NOT NULL)", error))
        return err;
    auto rows = connection.query("SELECT coalesce(max(version), 0) FROM ferry_schema", {}, error);
    if (!rows) return rows.error();
    return static_cast<int>(rows->integer(0, 0));
}

Status apply(Connection& connection, const Step& step, std::string* error) {
    if (const Status err = connection.run("BEGIN", error)) return err;
    Status err = connection.run(step.sql, error);
    if (!err) err = connection.query("INSERT INTO ferry_schema (version) VALUES ($1)", {std::to_string(step.version)}, error).error();
    if (!err) err = connection.run("COMMIT", error);
    if (err) {
        std::string ignored;
        connection.run("ROLLBACK", &ignored);
        if (error) *error = "migrating to schema version " + std::to_string(step.version) + ": " + *error;
    }
    return err;
}

}  // namespace

Status migrate(Connection& connection, int* from, std::string* error) {
    if (const Status err = connection.run(migration_lock, error)) return err;
    auto version = current_version(connection, error);
    Status err = version.error();
    if (!err && *version > schema_version) {
        if (error) *error = "the database has schema version " + std::to_string(*version) + ", newer than this ferryd's " +
                            std::to_string(schema_version) + ": upgrade ferryd";
        err = Errc::unsupported;
    }
    if (!err && from) *from = *version;
    for (const Step& step : steps)
        if (!err && step.version > *version) err = apply(connection, step, error);
    std::string ignored;
    connection.run(migration_unlock, &ignored);
    return err;
}

}  // namespace ferry::db
