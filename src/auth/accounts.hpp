// The accounts file: TOML owned by the server, one table per user.
//
//   [users.alice]
//   password = "$argon2id$v=19$m=65536,t=2,p=1$..."
//   home = "alice"            # relative to the config's `root`
//   quota = 104857600         # bytes; 0 = the config's default_quota; "unlimited" allowed
//   admin = false
//   disabled = false
//   groups = ["team"]         # their settings apply after the account's own, in this order
//   expires = "2027-06-30"    # no logins from 00:00 UTC of that day
//   [users.alice.permissions] # rule path -> permission words (auth/policy.hpp)
//   "/archive" = "list,download"
//   [users.alice.limits]
//   upload = "500K"           # bytes per second; 0 = none
//   download = "10M"
//   transfers = 2             # at once, over all of the account's sessions
//   [users.alice.networks]
//   allow = ["10.0.0.0/8"]
//   deny = ["10.9.0.0/16"]
//
//   [users.alice.folders.projects]  # the shared folder "projects", mounted at /projects
//   at = "/projects"
//   permissions = "all"
//   [groups.team]             # the same permissions, folders, limits and networks tables
//   [groups.team.permissions]
//   "/" = "all"
//   [folders.projects]        # a shared folder: <shared_root>/projects
//   quota = "10G"             # its own, shared by all who write into it; "unlimited" = none
//
// Every change is a read-modify-write under an exclusive flock on "<file>.lock", written to a temp
// file in the same folder, fsynced and renamed over the old one: the server and `ferryd user`
// never lose each other's entries, and a crash never leaves half a file.
#pragma once
#include "auth/policy.hpp"
#include "base/result.hpp"
#include "sys/atomic_file.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::auth {

struct Account {
    std::string name;
    std::string password_hash;
    std::string home;           // relative to root; defaults to the name
    std::uint64_t quota = 0;    // 0 = default_quota, unlimited_bytes = no limit
    bool admin = false;
    bool disabled = false;
    std::vector<std::string> groups;  // in order: the first group's settings come after the account's
    Settings settings;                // permissions, limits, networks of its own
    std::optional<Date> expires;      // logins refused from 00:00 UTC of that day
    // Not stored: why logins are refused for an account that an older accounts file holds but
    // today's rules would not create (an invalid name, or one that differs from another only by
    // case). "" = none. Cleared by deleting or renaming one of them (`ferryd user rename`).
    std::string blocked;
};

// ASCII letters, digits, '.', '_', '-'; 1..64 bytes; not starting with '.' or '-'; not a reserved
// name (system and anonymous-FTP names, Windows device names such as CON, NUL, COM1 also with an
// extension), compared without case.
bool valid_user_name(std::string_view name);
inline constexpr std::size_t max_user_name_length = 64;

// Names are unique without regard to case: "Alice" and "alice" would share a home on a
// case-insensitive file system. This is the form they are compared in.
std::string folded_name(std::string_view name);

// The folder beneath root that holds deleted accounts' homes; never a home itself.
inline constexpr std::string_view deleted_homes_folder = ".deleted";

// A home folder as stored in an account: relative (to the config's root), no ".." component,
// not inside deleted_homes_folder.
bool valid_home_path(std::string_view home);
// Whether one home lies inside the other (or they are the same folder), compared by components:
// "team" and "team/bob" overlap, "team" and "teams" do not. An account whose home held another's
// would reach that account's files.
bool homes_overlap(std::string_view a, std::string_view b);
// The account of another name whose home overlaps `home`, if any (nested homes are refused).
class AccountsFile;
const Account* account_with_overlapping_home(const AccountsFile& file, std::string_view home, std::string_view except = {});

// Group names follow the rules of account names, without the reserved list.
bool valid_group_name(std::string_view name);

// A password field as crypto_pwhash_str writes it ("$argon2id$v=19$m=...,t=...,p=...$salt$hash").
bool valid_password_hash(std::string_view hash);

class AccountsFile {
public:
    // A missing file is an empty set of accounts. A malformed one is an error whose text says where.
    static Result<AccountsFile> load(const std::string& path, std::string* error);

    const Account* find(std::string_view name) const;
    const std::map<std::string, Account, std::less<>>& all() const { return accounts_; }
    // false if the name is not valid_user_name or one that differs only by case exists
    bool add(Account account);
    bool remove(std::string_view name);    // false if missing
    Account* find_mutable(std::string_view name);
    // The account whose name equals `name` without regard to case, if any.
    const Account* find_folded(std::string_view name) const;
    // Accounts whose logins are refused (Account::blocked), for the start-up and reload log lines.
    std::vector<const Account*> blocked() const;

    const std::map<std::string, Group, std::less<>>& groups() const { return groups_; }
    const Group* find_group(std::string_view name) const;
    Group* find_group_mutable(std::string_view name);
    bool add_group(Group group);                 // false if the name is invalid or taken
    bool remove_group(std::string_view name);    // false if missing
    // The accounts that list group `name`.
    std::vector<std::string> members_of(std::string_view name) const;

    const SharedFolders& folders() const { return folders_; }
    const SharedFolder* find_folder(std::string_view name) const;
    SharedFolder* find_folder_mutable(std::string_view name);
    bool add_folder(SharedFolder folder);  // false if the name is invalid (as a group's) or taken
    // Removes the folder and every grant of it (its files stay on disk). False if missing.
    bool remove_folder(std::string_view name);
    // "user alice", "group staff": who the folder is granted to.
    std::vector<std::string> grants_of(std::string_view folder) const;
    // `account` after its groups (a group it names that is gone is skipped).
    EffectivePolicy policy_of(const Account& account) const;

    std::string to_toml() const;

    // Marks the accounts that break today's name rules (see Account::blocked); run after loading
    // and after every change, so a rename or delete unblocks the other account at once.
    void mark_blocked();

private:
    std::map<std::string, Account, std::less<>> accounts_;
    std::map<std::string, Group, std::less<>> groups_;
    SharedFolders folders_;
};

// Settings as the TOML tables `[PREFIX.permissions]`, `[PREFIX.folders.F]`, `[PREFIX.limits]`, `[PREFIX.networks]` (the
// accounts file; "" for top-level tables, as the database keeps them), and back. Only the tables a
// setting needs are written.
std::string settings_toml(const Settings& settings, std::string_view prefix);
// The tables of a TOML text such as settings_toml("") writes; nullopt with *error when malformed.
std::optional<Settings> settings_from_toml(std::string_view text, std::string* error);

// Lock, load, apply `change`, save atomically, unlock. `change` returns ok to save or an error
// code to abandon (nothing written). The error text (if any) goes to *error.
Status modify_accounts_file(const std::string& path, const std::function<Status(AccountsFile&)>& change,
                            std::string* error);

// Where the accounts are kept, as the server, the SITE commands and `ferryd user` see them: the
// accounts file (FileAccountStore, below) or a database shared by several nodes (db/pg_accounts.hpp).
// Thread-safe. find() answers from memory; modify() and load() may block (worker pool, CLI).
// An account with its policy after its groups, from one snapshot of the store.
struct AccountAndPolicy {
    Account account;
    EffectivePolicy policy;
};

class AccountStore {
public:
    virtual ~AccountStore() = default;
    virtual std::optional<Account> find(std::string_view name) = 0;
    // find() with the account's effective policy (its groups' settings applied): for a login.
    virtual std::optional<AccountAndPolicy> find_with_policy(std::string_view name) = 0;
    // Lock, load, apply `change`, save, as one step against every other writer. `change` returns
    // ok to save or an error code to abandon (nothing written). The error text goes to *error.
    virtual Status modify(const std::function<Status(AccountsFile&)>& change, std::string* error) = 0;
    // The accounts as they are now if they changed since the caller last saw them (`seen`, 0 at
    // first, is then updated); nullopt when nothing changed. For the server's watcher, which
    // applies edits made elsewhere (`ferryd user`, another node) to running sessions.
    virtual std::optional<AccountsFile> changed_since(std::uint64_t& seen) = 0;
    // Every account, read from the store itself (not a cache): `ferryd user list`.
    virtual Result<AccountsFile> load(std::string* error) = 0;
    // false while the store cannot be reached (the database is down): logins are then refused.
    virtual bool available() const { return true; }
    // `changed` runs (on a thread of the store's) when another process or node changed the
    // accounts, so the server need not wait for its next check. The file store is polled instead.
    virtual void notify_changes(std::function<void()> changed) { (void)changed; }
    // "users.toml" or "postgresql", for messages.
    virtual std::string describe() const = 0;
};

// The accounts file: a cache of it shared by all reactor threads, reloaded when the file changes
// on disk (so `ferryd user add` takes effect without a restart).
class FileAccountStore final : public AccountStore {
public:
    explicit FileAccountStore(std::string path);
    std::optional<Account> find(std::string_view name) override;
    std::optional<AccountAndPolicy> find_with_policy(std::string_view name) override;
    Status modify(const std::function<Status(AccountsFile&)>& change, std::string* error) override;
    std::optional<AccountsFile> changed_since(std::uint64_t& seen) override;
    Result<AccountsFile> load(std::string* error) override { return AccountsFile::load(path_, error); }
    std::string describe() const override { return path_; }
    const std::string& path() const { return path_; }

private:
    void refresh_locked();
    std::string path_;
    std::mutex mutex_;
    AccountsFile cache_;
    std::optional<FileStamp> loaded_;  // of the file cache_ came from; nullopt = read it again
    std::uint64_t generation_ = 1;  // counts the loads of cache_
};

}  // namespace ferry::auth
