#include "proto/hook_event.hpp"

#include "base/log.hpp"
#include "sys/time.hpp"

#include <array>
#include <cctype>
#include <cstdio>

namespace ferry::proto {
namespace {

constexpr std::array<const char*, hook_kind_count> names = {
    "upload", "download", "delete", "rename", "mkdir", "rmdir", "login", "login_failed", "logout", "quota", "ban",
    "pre_upload"};

std::string iso_time(std::int64_t unix_ms) {
    const std::tm utc = sys::utc_time(unix_ms / 1000);
    char text[96];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(unix_ms % 1000));
    return text;
}

std::string quoted(std::string_view text) { return cat('"', log::json_escaped(text), '"'); }

std::string digests_json(const HookEvent& event) {
    std::string text = "{";
    for (const auto& [algo, hex] : event.digests) text += cat(text.size() > 1 ? "," : "", quoted(algo), ':', quoted(hex));
    return text + "}";
}

// A field: its name, its JSON value, and its value as a program's environment has it (strings as
// their text, without quotes or escapes; the rest as in the JSON).
struct Field {
    std::string name;
    std::string json;
    std::string text;
};
Field text_field(std::string name, std::string_view value) { return {std::move(name), quoted(value), std::string(value)}; }
Field raw_field(std::string name, std::string value) { return {std::move(name), value, value}; }

std::vector<Field> fields(const HookEvent& event, std::string_view node, std::int64_t unix_ms) {
    std::vector<Field> out{text_field("event", hook_kind_name(event.kind)), text_field("time", iso_time(unix_ms)),
                           text_field("node", node), raw_field("session", std::to_string(event.session)),
                           text_field("user", event.user), text_field("client", event.client)};
    if (!event.path.empty()) out.push_back(text_field("path", event.path));
    if (event.target) out.push_back(text_field("target", *event.target));
    if (event.bytes) out.push_back(raw_field("bytes", std::to_string(*event.bytes)));
    if (event.size) out.push_back(raw_field("size", std::to_string(*event.size)));
    if (event.offset) out.push_back(raw_field("offset", std::to_string(*event.offset)));
    if (event.complete) out.push_back(raw_field("complete", *event.complete ? "true" : "false"));
    if (event.seconds) {
        char text[32];
        std::snprintf(text, sizeof text, "%.3f", *event.seconds);
        out.push_back(raw_field("seconds", text));
    }
    if (event.reply) out.push_back(raw_field("reply", std::to_string(*event.reply)));
    if (event.kind == HookKind::upload) out.push_back(raw_field("digests", digests_json(event)));
    if (event.note) out.push_back(text_field("note", *event.note));
    return out;
}

}  // namespace

const char* hook_kind_name(HookKind kind) { return names[static_cast<std::size_t>(kind)]; }

std::optional<HookKind> parse_hook_kind(std::string_view name) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (name == names[i]) return static_cast<HookKind>(i);
    return std::nullopt;
}

std::string hook_json(const HookEvent& event, std::string_view node, std::int64_t unix_ms) {
    std::string text = "{";
    for (const Field& field : fields(event, node, unix_ms)) text += cat(text.size() > 1 ? "," : "", '"', field.name, "\":", field.json);
    return text + "}";
}

std::vector<std::string> hook_environment(const HookEvent& event, std::string_view node, std::int64_t unix_ms) {
    std::vector<std::string> env;
    for (Field& field : fields(event, node, unix_ms)) {
        for (char& c : field.name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (char& c : field.text)
            if (c == '\0') c = '?';  // an environment string ends at NUL
        env.push_back(cat("FERRY_", field.name, '=', field.text));
    }
    return env;
}

}  // namespace ferry::proto
