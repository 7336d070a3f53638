// What `ferryd user`, `ferryd group` (and `ferryd folder`) share: reading and changing the accounts
// in whichever store the config names, with the same exit codes and messages.
#pragma once
#include "app/config.hpp"
#include "auth/accounts.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::app {

inline constexpr int exit_ok = 0;
inline constexpr int exit_refused = 1;  // the store or the state refused (stderr says why)
inline constexpr int exit_usage = 2;    // the command line was wrong (stderr says what); nothing changed

// Thrown for a command line we cannot make sense of (exit 2).
struct UsageError {
    std::string message;
};

// "<tool>: <why>" on stderr; exit_refused.
int refuse(std::string_view tool, const std::string& why);

// Runs `change` under the store's lock, saving what it did unless it returns an error. `change`
// fills `why` when it refuses: Errc::invalid (bad input, such as a missing account) exits 2, any
// other error 1.
int change_accounts(const Config& config, std::string_view tool,
                    const std::function<Status(auth::AccountsFile&, std::string& why)>& change);

// The accounts as the store holds them now (outside the lock); nullopt after saying why.
std::optional<auth::AccountsFile> load_accounts(const Config& config, std::string_view tool);

}  // namespace ferry::app
