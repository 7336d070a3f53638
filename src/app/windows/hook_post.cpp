// libcurl is not cross-built for Windows yet: URL hooks are refused there at start-up.
#include "app/hook_post.hpp"

namespace ferry::app {

bool init_posting(std::string* error) {
    *error = "hooks: URL hooks ([[hook]] url) are not supported on Windows yet (libcurl is not cross-built)";
    return false;
}

PostOutcome post_json(const std::string&, const std::string&, std::chrono::seconds, unsigned) {
    return PostOutcome{0, "not supported on Windows", 0};
}

}  // namespace ferry::app
