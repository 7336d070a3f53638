#include "app/account_edits.hpp"

#include "app/privileges.hpp"
#include "app/stores.hpp"

#include <algorithm>
#include <iostream>

namespace ferry::app {
namespace {

std::unique_ptr<auth::AccountStore> account_store(const Config& config, std::string_view tool) {
    std::string error;
    auto stores = open_stores(config, /*watch=*/false, &error);
    if (!stores) {
        refuse(tool, error);
        return nullptr;
    }
    return std::move(stores->accounts);
}

}  // namespace

Words parse_words(std::span<const std::string> words, const std::vector<std::string_view>& valued,
                  const std::vector<std::string_view>& bare) {
    Words parsed;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (!word.starts_with("--")) {
            parsed.positional.push_back(word);
            continue;
        }
        const auto equals = word.find('=');
        const std::string flag = word.substr(0, equals);
        const bool takes_value = std::find(valued.begin(), valued.end(), flag) != valued.end();
        if (!takes_value && std::find(bare.begin(), bare.end(), flag) == bare.end()) throw UsageError{"unknown option " + flag};
        std::string value;
        if (equals != std::string::npos) {
            if (!takes_value) throw UsageError{flag + " takes no value"};
            value = word.substr(equals + 1);
        } else if (takes_value) {
            if (i + 1 >= words.size()) throw UsageError{flag + " needs a value"};
            value = words[++i];
        }
        parsed.flags[flag] = value;
    }
    return parsed;
}

int refuse(std::string_view tool, const std::string& why) {
    std::cerr << tool << ": " << why << "\n";
    return exit_refused;
}

int change_accounts(const Config& config, std::string_view tool,
                    const std::function<Status(auth::AccountsFile&, std::string& why)>& change) {
    auto store = account_store(config, tool);
    if (!store) return exit_refused;
    std::string why;
    std::string error;
    const Status status = store->modify([&](auth::AccountsFile& file) { return change(file, why); }, &error);
    // Run as root for a server with run_as: the server, as that user, must be able to rewrite them.
    if (config.accounts == AccountsBackend::file) hand_over_locked_file(config, config.users_file);
    if (!status) return exit_ok;
    refuse(tool, !why.empty() ? why : error);
    return !why.empty() && status == Errc::invalid ? exit_usage : exit_refused;
}

std::optional<auth::AccountsFile> load_accounts(const Config& config, std::string_view tool) {
    auto store = account_store(config, tool);
    if (!store) return std::nullopt;
    std::string error;
    auto loaded = store->load(&error);
    if (!loaded) {
        refuse(tool, error);
        return std::nullopt;
    }
    return std::move(*loaded);
}

std::string checked_rule_path(const std::string& text) {
    std::string why;
    auto path = auth::rule_path(text, &why);
    if (!path) throw UsageError{"PATH \"" + text + "\" " + why};
    return *path;
}

auth::Permissions checked_permissions(const std::string& text) {
    std::string bad;
    auto permissions = auth::Permissions::parse(text, &bad);
    if (!permissions)
        throw UsageError{"unknown permission \"" + bad + "\" (known: list, download, upload, overwrite, delete, rename, mkdir, "
                         "rmdir, chmod, hash, all, none)"};
    return *permissions;
}

int run_subcommand(std::string_view tool, const std::string& usage, const std::vector<std::string>& args,
                   const Dispatch& dispatch) {
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        (args.empty() ? std::cerr : std::cout) << usage;
        return args.empty() ? exit_usage : exit_ok;
    }
    int result;
    try {
        result = dispatch(args[0], std::span(args).subspan(1));
    } catch (const UsageError& e) {
        std::cerr << tool << ": " << e.message << "\n" << usage;
        result = exit_usage;
    } catch (const std::exception& e) {
        result = refuse(tool, e.what());  // e.g. out of memory while hashing
    }
    std::cout.flush();
    return result;
}

}  // namespace ferry::app
