// run_as on Windows: there is no root to drop; a service runs under the account it was installed
// with (README "Windows"). The checks that depend on POSIX ownership do nothing.
#include "app/privileges.hpp"

#include "base/log.hpp"

namespace ferry::app {

std::optional<RunAs> resolve_run_as(const std::string& spec, std::string* error) {
    if (spec.empty()) return std::nullopt;
    if (error) *error = cat("run_as = \"", spec, "\": not available on Windows (run the service under that account)");
    return std::nullopt;
}

bool drop_privileges(const RunAs&, std::string* error) {
    if (error) *error = "run_as: not available on Windows";
    return false;
}

std::string check_writable_folders(const Config&) { return ""; }
void hand_over(const Config&, const std::string&) {}
void hand_over_locked_file(const Config&, const std::string&) {}

}  // namespace ferry::app
