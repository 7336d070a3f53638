// Program hooks need the helper process of app/posix/hook_runner.cpp; not built for Windows yet.
#include "app/hook_runner.hpp"

namespace ferry::app {

std::unique_ptr<HookRunner> HookRunner::start(const std::optional<RunAs>&, std::string* error) {
    *error = "hooks: programs ([[hook]] run) are not supported on Windows yet";
    return nullptr;
}

}  // namespace ferry::app
