// What the event hooks ([[hook]] in the config, app/hooks) are told: one HookEvent per upload,
// download, delete, rename, mkdir, rmdir, login, failed login, logout, quota refusal and ban, and
// the pre_upload question a hook may answer no to. The session fills it on its reactor; the sink
// queues it and never makes the session wait (app/hooks.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::proto {

enum class HookKind : std::uint8_t {
    upload, download, delete_file, rename, mkdir, rmdir, login, login_failed, logout, quota, ban, pre_upload,
};
inline constexpr std::size_t hook_kind_count = 12;

// "upload", "download", "delete", "rename", "mkdir", "rmdir", "login", "login_failed", "logout",
// "quota", "ban", "pre_upload".
const char* hook_kind_name(HookKind kind);
std::optional<HookKind> parse_hook_kind(std::string_view name);

struct HookEvent {
    HookKind kind = HookKind::login;
    std::string user;
    std::string path;    // virtual: as the account sees it
    std::string client;  // the real client address (the PROXY header's behind a balancer)
    std::uint64_t session = 0;
    std::optional<std::string> target;  // rename: the new path
    std::optional<std::uint64_t> bytes;   // moved by this transfer
    std::optional<std::uint64_t> size;    // the file's size after it
    std::optional<std::uint64_t> offset;  // where the upload began (REST, APPE)
    std::optional<bool> complete;
    std::optional<double> seconds;
    std::optional<int> reply;  // the FTP code sent
    std::vector<std::pair<std::string, std::string>> digests;  // {"md5", hex}, {"sha-256", hex}
    std::optional<std::string> note;  // "digests not ready after 30 s", a failed login's reason, ...
};

// The event as one JSON object: event, time (ISO 8601 UTC), node, and the fields that are set.
std::string hook_json(const HookEvent& event, std::string_view node, std::int64_t unix_ms);
// The same as FERRY_<FIELD>=value strings for a program's environment (digests as JSON).
std::vector<std::string> hook_environment(const HookEvent& event, std::string_view node, std::int64_t unix_ms);

// Where sessions hand their events (nullptr in ServerContext: no hooks configured).
class HookSink {
public:
    virtual bool wants(HookKind kind) const = 0;
    // Queued for the hooks; returns at once.
    virtual void emit(HookEvent event) = 0;
    // pre_upload: `answer(allowed, why)` is called once, from another thread, after every
    // pre_upload hook said yes, or the first said no (or timed out: no).
    virtual void ask(HookEvent event, std::function<void(bool allowed, std::string why)> answer) = 0;

protected:
    ~HookSink() = default;
};

}  // namespace ferry::proto
