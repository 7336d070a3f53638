// What an account may do, as one model: permissions per virtual path, limits, the networks it may
// log in from. An account and a group carry the same Settings; an account's own settings win, then
// its groups' in the order it lists them. resolve_policy() turns an account and its groups into
// the EffectivePolicy a session checks each request against (proto/session.hpp: on_io).
#pragma once
#include "auth/network.hpp"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::auth {

// One power over a path. `upload` makes a new file; `overwrite` changes one that exists (STOR
// over it, APPE, REST+STOR, MFMT).
enum class Permission : std::uint16_t {
    list = 1 << 0,
    download = 1 << 1,
    upload = 1 << 2,
    overwrite = 1 << 3,
    remove = 1 << 4,  // "delete": DELE
    rename = 1 << 5,
    mkdir = 1 << 6,
    rmdir = 1 << 7,
    chmod = 1 << 8,
    hash = 1 << 9,
};

// The word users type and logs show: "list", ..., "delete" for Permission::remove.
std::string_view permission_word(Permission permission);

class Permissions {
public:
    static Permissions all();
    static Permissions none() { return Permissions(); }
    static Permissions of(std::initializer_list<Permission> permissions) {
        Permissions set;
        for (Permission permission : permissions) set.bits_ |= static_cast<std::uint16_t>(permission);
        return set;
    }
    // Whether any of `wanted` is in this set.
    bool has_any(Permissions wanted) const { return (bits_ & wanted.bits_) != 0; }
    // "list,download,hash", "all", "none" (words in any order, each once or more). nullopt, with
    // *bad set to the word, for an unknown word or an empty list.
    static std::optional<Permissions> parse(std::string_view comma_list, std::string* bad = nullptr);

    bool has(Permission permission) const { return (bits_ & static_cast<std::uint16_t>(permission)) != 0; }
    bool empty() const { return bits_ == 0; }
    // "all", "none", or the words in the order of the enum.
    std::string text() const;
    bool operator==(const Permissions&) const = default;

private:
    std::uint16_t bits_ = 0;
};

// A rule's path: absolute, normalised ("/", "/archive", "/a/b"); no ".", "..", empty component,
// trailing slash or NUL. What `ferryd user perm` accepts; nullopt with the reason otherwise.
std::optional<std::string> rule_path(std::string_view text, std::string* why);

// Bytes per second; 0 = no limit.
struct Limits {
    std::optional<std::uint64_t> upload_rate;
    std::optional<std::uint64_t> download_rate;
    std::optional<unsigned> transfers;  // at once, over all of the account's sessions
    bool operator==(const Limits&) const = default;
};

// A shared folder given to an account or a group: mounted at `at` in their tree, with `permissions`
// there (a rule at `at`, like any other, that deeper rules may refine).
struct FolderGrant {
    std::string at;  // a rule_path other than "/"
    Permissions permissions;
    bool operator==(const FolderGrant&) const = default;
};

// What an account or a group carries. Unset (nullopt, or no rule for a path) means "as the next
// in line says": the account's groups in order, then the defaults (everything allowed).
struct Settings {
    std::map<std::string, Permissions, std::less<>> permissions;  // rule path -> permissions
    std::map<std::string, FolderGrant, std::less<>> folders;      // shared folder name -> its mount
    Limits limits;
    std::optional<std::vector<Network>> allow;  // log in only from these
    std::vector<Network> deny;                  // never from these (wins over allow)
    bool empty() const {
        return permissions.empty() && folders.empty() && limits == Limits{} && !allow && deny.empty();
    }
    bool operator==(const Settings&) const = default;
};

// A shared folder: a folder named `name` beneath the config's shared_root, with a quota of its own
// that every account writing into it shares (unlimited_bytes: none).
struct SharedFolder {
    std::string name;
    std::uint64_t quota;
};
using SharedFolders = std::map<std::string, SharedFolder, std::less<>>;

// Whether two mount points would nest (the same path, or one beneath the other): a mount over
// another mount is refused.
bool mounts_nest(std::string_view a, std::string_view b);

struct Group {
    std::string name;
    Settings settings;
};

// A day (UTC) as days since 1970-01-01; an account expires at 00:00 UTC of it.
struct Date {
    std::int64_t days = 0;
    static std::optional<Date> parse(std::string_view yyyy_mm_dd);  // a real calendar date
    std::string text() const;                                      // "2027-01-31"
    std::int64_t start_seconds() const { return days * 86400; }    // Unix time of its 00:00 UTC
    bool operator==(const Date&) const = default;
};

// One account's policy after its groups: what sessions check.
class EffectivePolicy {
public:
    struct Rule {
        std::string path;
        Permissions permissions;
        std::string from;  // the account's name or "group G", for `ferryd user show`
    };
    // A shared folder in the account's tree: `at` and everything beneath it is the folder's.
    struct Mount {
        std::string at;
        std::string folder;
        std::string from;
        std::uint64_t quota = UINT64_MAX;  // the folder's (unlimited without the folders' list)
    };
    // No rules, no limits: everything allowed (an account without a policy).
    EffectivePolicy() = default;

    // Whether `permission` is granted on the virtual path `vpath` (normalised): the deepest rule
    // whose path is `vpath` or one of its ancestors decides; with none, everything is allowed.
    bool allows(Permission permission, std::string_view vpath) const;
    // Whether any permission at all is granted on `vpath` (CWD into it).
    bool allows_any(std::string_view vpath) const;
    // Whether at least one of `wanted` is granted on `vpath`.
    bool allows_one_of(Permissions wanted, std::string_view vpath) const;
    // The deepest rule path strictly beneath `vpath`, if any: renaming `vpath` would carry that
    // rule's files out from under it.
    const Rule* rule_beneath(std::string_view vpath) const;
    // Whether a client at `ip` may log in: not in a denied network, and in an allowed one if the
    // policy names any.
    bool admits(const std::string& ip) const;

    // The mount `vpath` lies in (at its mount point or beneath), if any.
    const Mount* mount_of(std::string_view vpath) const;

    const std::vector<Rule>& rules() const { return rules_; }  // deepest first
    const std::vector<Mount>& mounts() const { return mounts_; }
    const Limits& limits() const { return limits_; }
    const std::optional<std::vector<Network>>& allow() const { return allow_; }
    const std::vector<Network>& deny() const { return deny_; }
    bool unrestricted() const {
        return rules_.empty() && mounts_.empty() && !allow_ && deny_.empty() && limits_ == Limits{};
    }

private:
    friend EffectivePolicy resolve_policy(std::string_view account_name, const Settings& own,
                                          const std::vector<const Group*>& groups, const SharedFolders* folders);
    const Rule* deciding_rule(std::string_view vpath) const;
    std::vector<Rule> rules_;
    std::vector<Mount> mounts_;
    Limits limits_;
    std::optional<std::vector<Network>> allow_;
    std::vector<Network> deny_;
};

// The account's own settings, then each group's in order: for a rule path, a limit or the allowed
// networks, the first that sets it wins. Denied networks add up (any of them denies). A folder
// grant mounts the folder and sets the rule at its mount point; the first grant of a folder wins,
// and a grant whose mount would nest with one taken before it, or whose folder is not in
// `folders` (when given), is left out.
EffectivePolicy resolve_policy(std::string_view account_name, const Settings& own, const std::vector<const Group*>& groups,
                               const SharedFolders* folders = nullptr);

// Whether `vpath` is `base` or lies beneath it ("/a" covers "/a" and "/a/b", not "/ab").
bool path_covers(std::string_view base, std::string_view vpath);

}  // namespace ferry::auth
