// The virtual path normaliser: a result is absolute and normal (no "//", "/./", "/../", no
// trailing '/' but for "/"), idempotent, and never above "/" whatever the input.
#include "fs/vpath.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {
bool normal(const std::string& path) {
    if (path.empty() || path[0] != '/') return false;
    if (path.size() > 1 && path.back() == '/') return false;
    return path.find("//") == std::string::npos && path.find("/./") == std::string::npos &&
           path.find("/../") == std::string::npos && !path.ends_with("/.") && !path.ends_with("/..");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto split = input.find('\n');
    const std::string cwd_arg = split == std::string::npos ? "/" : input.substr(0, split);
    const std::string arg = split == std::string::npos ? input : input.substr(split + 1);
    const std::string cwd = ferry::fs::vpath_resolve("/", cwd_arg);
    const std::string resolved = ferry::fs::vpath_resolve(cwd.empty() ? "/" : cwd, arg);
    if (resolved.empty()) {
        if (arg.find(std::string(1, 0)) == std::string::npos) std::abort();  // "" only for a NUL byte
        return 0;
    }
    if (!normal(resolved)) std::abort();
    if (ferry::fs::vpath_resolve("/", resolved) != resolved) std::abort();      // idempotent
    if (ferry::fs::vpath_resolve("/", "../../" + resolved) != resolved) std::abort();  // nothing above "/"
    if (resolved != "/" && ferry::fs::vpath_parent(resolved) + (ferry::fs::vpath_parent(resolved) == "/" ? "" : "/") +
                               std::string(ferry::fs::vpath_name(resolved)) != resolved)
        std::abort();
    return 0;
}
