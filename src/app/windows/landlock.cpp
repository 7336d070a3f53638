// Landlock is a Linux kernel feature: on Windows the jail is the NT handle resolver alone
// (fs/windows/nt_open.hpp), and the start-up log says so.
#include "app/landlock.hpp"

namespace ferry::app {

LandlockOutcome apply_landlock(const LandlockPaths&) {
    return LandlockOutcome{false, 0, "not available on Windows (the jail is the NT handle resolver)"};
}

int landlock_abi() { return 0; }

LandlockPaths landlock_paths(const Config&) { return {}; }

}  // namespace ferry::app
