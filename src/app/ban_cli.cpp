#include "app/ban_cli.hpp"

#include "app/privileges.hpp"

#include "auth/defender.hpp"
#include "auth/registration.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>

namespace ferry::app {
namespace {

constexpr const char* usage_text =
    "usage: ferryd [--config FILE] ban COMMAND\n"
    "  list              the addresses banned now, until when, and why\n"
    "  remove ADDRESS    lift the ban of ADDRESS (an IPv6 address lifts its /64)\n";

int list_bans(const Config& config) {
    std::string error;
    auto bans = auth::load_bans(config.bans_file, &error);
    if (!bans) {
        std::cerr << "ferryd ban: " << error << "\n";
        return 1;
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         auth::WallClock::now().time_since_epoch()).count();
    std::size_t shown = 0;
    for (const auth::Ban& ban : *bans) {
        if (ban.until <= now) continue;
        std::cout << ban.group << "  until " << auth::format_utc(ban.until) << "  (" << ban.reason << "; ban "
                  << ban.count << ")\n";
        ++shown;
    }
    if (shown == 0) std::cout << "(no address is banned; " << config.bans_file << ")\n";
    return 0;
}

int remove_ban(const Config& config, const std::string& address) {
    // The same grouping as the defender's: "2001:db8::7" lifts the ban of "2001:db8::/64".
    const std::string group = address.ends_with("/64") ? address : auth::registration_group(address);
    bool found = false;
    std::string error;
    const Status status = auth::modify_bans(config.bans_file, [&](std::vector<auth::Ban>& bans) {
        const auto before = bans.size();
        std::erase_if(bans, [&](const auth::Ban& ban) { return ban.group == group; });
        found = bans.size() != before;
        return found;
    }, &error);
    hand_over_locked_file(config, config.bans_file);  // run as root: the server (run_as) rewrites it too
    if (status) {
        std::cerr << "ferryd ban: " << error << "\n";
        return 1;
    }
    if (!found) {
        std::cerr << "ferryd ban: " << group << " is not banned\n";
        return 1;
    }
    std::cout << "lifted the ban of " << group << " (a running server applies it within seconds)\n";
    return 0;
}

}  // namespace

int run_ban_command(const Config& config, const std::vector<std::string>& args) {
    if (args.size() == 1 && args[0] == "list") return list_bans(config);
    if (args.size() == 2 && args[0] == "remove") return remove_ban(config, args[1]);
    const bool asked = args.size() == 1 && (args[0] == "help" || args[0] == "--help");
    (asked ? std::cout : std::cerr) << usage_text;
    return asked ? 0 : 2;
}

}  // namespace ferry::app
