// Changing the accounts file safely (lock, atomic replace) and the server's reloading cache of it.
#include "auth/accounts.hpp"

#include "base/log.hpp"
#include "sys/atomic_file.hpp"
#include "sys/handle.hpp"

namespace ferry::auth {
namespace {

std::string error_text(const std::string& what, const std::string& path, const Error& err) {
    return what + " " + path + ": " + err.message();
}

}  // namespace

Status modify_accounts_file(const std::string& path, const std::function<Status(AccountsFile&)>& change,
                            std::string* error) {
    // The folder holding the accounts file ("var/" on a fresh checkout), parents first.
    if (const Status err = make_folders(parent_folder(path), 0700)) {
        if (error) *error = error_text("cannot create folder", parent_folder(path), err);
        return err;
    }
    ferry::FileLock lock;
    if (const Status err = lock.acquire(path + ".lock")) {
        if (error) *error = error_text("cannot lock", path + ".lock", err);
        return err;
    }
    auto loaded = AccountsFile::load(path, error);
    if (!loaded) return loaded.error();
    if (const Status status = change(*loaded)) return status;  // abandoned: nothing written
    return replace_file_atomically(path, loaded->to_toml(), error);
}

FileAccountStore::FileAccountStore(std::string path) : path_(std::move(path)) {}

std::optional<Account> FileAccountStore::find(std::string_view name) {
    std::lock_guard lock(mutex_);
    refresh_locked();
    const Account* account = cache_.find(name);
    if (!account) return std::nullopt;
    return *account;
}

std::optional<AccountAndPolicy> FileAccountStore::find_with_policy(std::string_view name) {
    std::lock_guard lock(mutex_);
    refresh_locked();
    const Account* account = cache_.find(name);
    if (!account) return std::nullopt;
    return AccountAndPolicy{*account, cache_.policy_of(*account)};
}

Status FileAccountStore::modify(const std::function<Status(AccountsFile&)>& change, std::string* error) {
    const Status status = modify_accounts_file(path_, change, error);
    std::lock_guard lock(mutex_);
    loaded_.reset();  // force a reload: our own write must be visible to the next find()
    refresh_locked();
    return status;
}

// One stat per lookup; the file is parsed again only when it changed (see FileStamp).
void FileAccountStore::refresh_locked() {
    const FileStamp stamp = stamp_of(path_);
    if (loaded_ == stamp) return;
    loaded_ = stamp;

    std::string error;
    auto loaded = AccountsFile::load(path_, &error);
    if (!loaded) {
        // Keep serving the last good accounts: a typo in a hand edit must not lock everyone out.
        log::error(cat("accounts: keeping the previous accounts: ", error));
        return;
    }
    for (const Account* account : loaded->blocked())
        log::error(cat("accounts: logins refused for ", account->name, ": ", account->blocked,
                       "; delete or rename it (ferryd user rename)"));
    cache_ = std::move(*loaded);
    ++generation_;
}

std::optional<AccountsFile> FileAccountStore::changed_since(std::uint64_t& seen) {
    std::lock_guard lock(mutex_);
    refresh_locked();
    if (seen == generation_) return std::nullopt;
    seen = generation_;
    return cache_;
}

}  // namespace ferry::auth
