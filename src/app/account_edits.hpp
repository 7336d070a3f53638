// What `ferryd user`, `ferryd group` (and `ferryd folder`) share: reading and changing the accounts
// in whichever store the config names, with the same exit codes and messages.
#pragma once
#include "app/config.hpp"
#include "auth/accounts.hpp"

#include <functional>
#include <map>
#include <span>
#include <vector>
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

// A command line's words: positional ones, and --flags ("--flag=value" or "--flag value" for the
// `valued` ones; `bare` ones take none). An unknown flag, a missing or an unwanted value is a
// UsageError. A flag given twice keeps its last value.
struct Words {
    std::vector<std::string> positional;
    std::map<std::string, std::string, std::less<>> flags;  // a flag without a value maps to ""
    bool has(std::string_view flag) const { return flags.contains(flag); }
};
Words parse_words(std::span<const std::string> words, const std::vector<std::string_view>& valued,
                  const std::vector<std::string_view>& bare = {});

// A rule path (auth::rule_path) and permission words from the command line, or a UsageError naming
// what is wrong with them.
std::string checked_rule_path(const std::string& text);
auth::Permissions checked_permissions(const std::string& text);

// `<tool> COMMAND WORDS...` (ferryd user, group, folder): no words or "help" prints `usage`
// (exit 2 and 0); otherwise dispatch(COMMAND, WORDS), where a UsageError prints its message and
// `usage` (exit 2) and any other exception is a refusal (exit 1).
using Dispatch = std::function<int(const std::string& command, std::span<const std::string> words)>;
int run_subcommand(std::string_view tool, const std::string& usage, const std::vector<std::string>& args,
                   const Dispatch& dispatch);

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
