#include "app/landlock.hpp"

#include "base/log.hpp"
#include "sys/atomic_file.hpp"
#include "sys/handle.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ferry::app {
namespace {

// Where a symlink leads (the whole chain), or the path itself when it cannot be resolved.
std::string resolved_path(const std::string& path) {
    char resolved[PATH_MAX];
    return ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
}

// Rights newer than this machine's <linux/landlock.h>; used only when landlock_abi() says so.
constexpr std::uint64_t access_truncate = 1ULL << 14;   // ABI 3
constexpr std::uint64_t access_ioctl_dev = 1ULL << 15;  // ABI 5
constexpr std::uint64_t scope_abstract_unix = 1ULL << 0, scope_signal = 1ULL << 1;  // ABI 6

// The kernel takes a larger struct than it knows as long as the extra fields are zero, so one
// layout serves every ABI.
struct RulesetAttr {
    std::uint64_t handled_access_fs = 0;
    std::uint64_t handled_access_net = 0;
    std::uint64_t scoped = 0;
};

constexpr std::uint64_t read_rights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

std::uint64_t handled_rights(int abi) {
    std::uint64_t rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                           LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                           LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                           LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                           LANDLOCK_ACCESS_FS_MAKE_SYM;
    if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) rights |= access_truncate;
    if (abi >= 5) rights |= access_ioctl_dev;
    return rights;
}

// What the data folders get: everything a file server does (and REFER for renames between folders),
// but never execute, device nodes, sockets or FIFOs.
std::uint64_t data_rights(int abi) {
    return handled_rights(abi) & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                                   LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                                   LANDLOCK_ACCESS_FS_MAKE_FIFO | access_ioctl_dev);
}

// Adds `rights` beneath `path`; a missing optional path (no /lib64 here) is skipped.
int add_rule(int ruleset, const std::string& path, std::uint64_t rights) {
    File fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!fd) return errno == ENOENT ? 0 : errno;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno;
    // A rule on a file may carry only the rights that apply to files.
    if (!S_ISDIR(st.st_mode))
        rights &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_EXECUTE | access_truncate;
    landlock_path_beneath_attr rule{};
    rule.allowed_access = rights;
    rule.parent_fd = fd.get();
    if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) return errno;
    return 0;
}

}  // namespace

int landlock_abi() {
    const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : static_cast<int>(abi);
}

LandlockOutcome apply_landlock(const LandlockPaths& paths) {
    LandlockOutcome outcome;
    outcome.abi = landlock_abi();
    if (outcome.abi == 0) {
        outcome.message = cat("the kernel offers no Landlock (", std::strerror(errno), ")");
        return outcome;
    }
    RulesetAttr attr;
    attr.handled_access_fs = handled_rights(outcome.abi);
    if (outcome.abi >= 6) attr.scoped = scope_abstract_unix | scope_signal;
    File ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0)));
    if (!ruleset) {
        outcome.message = cat("landlock_create_ruleset: ", std::strerror(errno));
        return outcome;
    }
    const std::uint64_t create_write = LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                       LANDLOCK_ACCESS_FS_READ_FILE | (outcome.abi >= 3 ? access_truncate : 0);
    const std::pair<const std::vector<std::string>*, std::uint64_t> groups[] = {
        {&paths.read_write, data_rights(outcome.abi)}, {&paths.create_write, create_write}, {&paths.read_only, read_rights}};
    for (const auto& [list, rights] : groups) {
        for (const std::string& path : *list) {
            if (int err = add_rule(ruleset.get(), path, rights)) {
                outcome.message = cat("landlock_add_rule ", path, ": ", std::strerror(err));
                return outcome;
            }
        }
    }
    // Required to restrict oneself without CAP_SYS_ADMIN; ferryd never executes anything anyway.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0) {
        outcome.message = cat("landlock_restrict_self: ", std::strerror(errno));
        return outcome;
    }
    outcome.applied = true;
    outcome.message = cat("ABI ", outcome.abi, ": read and write beneath ", paths.read_write.size(),
                          " data folders, create files in ", paths.create_write.size(), " log folders, read ",
                          paths.read_only.size(), " other paths; nothing else, no execution");
    return outcome;
}

LandlockPaths landlock_paths(const Config& config) {
    LandlockPaths paths;
    for (const auto& folder : data_folders(config)) paths.read_write.push_back(folder.path);
    for (const auto& folder : log_folders(config)) paths.create_write.push_back(folder.path);
    if (!config.config_path.empty()) paths.read_only.push_back(config.config_path);
    // The folders of the certificate and key, not the files: a renewal replaces them by rename
    // (certbot's live/ links point into archive/, where each renewal adds new files), and a
    // reload (SIGHUP) must read the new ones. Both the folder named and the one the link leads to.
    for (const auto* tls_file : {&config.tls_cert, &config.tls_key}) {
        if (tls_file->empty()) continue;
        for (const std::string& folder : {parent_folder(*tls_file), parent_folder(resolved_path(*tls_file))})
            if (std::find(paths.read_only.begin(), paths.read_only.end(), folder) == paths.read_only.end())
                paths.read_only.push_back(folder);
    }
    // What the C library and OpenSSL may still read: lazily loaded libraries (NSS, libgcc_s),
    // time zone data, OpenSSL's config, the CPU count, the random device some fall back to, and
    // the process's own /proc entry (its threads and maps; the sanitizers read them at exit).
    for (const char* path : {"/usr/lib", "/lib", "/lib64", "/etc/localtime", "/usr/share/zoneinfo", "/etc/ssl/openssl.cnf",
                             "/sys/devices/system/cpu", "/dev/urandom", "/proc/self"})
        paths.read_only.emplace_back(path);
    return paths;
}

}  // namespace ferry::app
