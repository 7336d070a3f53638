#include "app/hook_config.hpp"

#include "app/config.hpp"
#include "base/log.hpp"

#include <toml++/toml.h>

namespace ferry::app {
namespace {

[[noreturn]] void fail(const toml::node& node, const std::string& source, const std::string& what) {
    throw ConfigError(cat("hook: ", what, " (", source, ":", node.source().begin.line, ")"));
}

std::vector<std::string> strings(const toml::node& node, const std::string& source, std::string_view key) {
    const auto* array = node.as_array();
    if (!array) fail(node, source, cat(key, " must be an array of strings"));
    std::vector<std::string> out;
    for (const auto& item : *array) {
        const auto* text = item.as_string();
        if (!text) fail(item, source, cat(key, " must be an array of strings"));
        out.push_back(text->get());
    }
    return out;
}

void read_events(HookSpec& spec, const toml::node& node, const std::string& source) {
    for (const std::string& name : strings(node, source, "events")) {
        const auto kind = proto::parse_hook_kind(name);
        if (!kind)
            fail(node, source, cat("unknown event \"", name, "\" (known: upload, download, delete, rename, mkdir, rmdir, ",
                                   "login, login_failed, logout, quota, ban, pre_upload)"));
        spec.events.set(static_cast<std::size_t>(*kind));
    }
    if (spec.events.none()) fail(node, source, "events must name at least one event");
}

std::int64_t integer(const toml::node& node, const std::string& source, std::string_view key, std::int64_t min, std::int64_t max) {
    const auto* value = node.as_integer();
    if (!value || value->get() < min || value->get() > max) fail(node, source, cat(key, " must be an integer from ", min, " to ", max));
    return value->get();
}

HookSpec read_one(const toml::node& node, const std::string& source) {
    const auto* table = node.as_table();
    if (!table) fail(node, source, "each [[hook]] must be a table");
    HookSpec spec;
    spec.line = static_cast<int>(node.source().begin.line);
    bool has_events = false;
    for (const auto& [key, value] : *table) {
        const std::string name(key.str());
        if (name == "events") {
            read_events(spec, value, source);
            has_events = true;
        } else if (name == "run") {
            spec.run = strings(value, source, "run");
            if (spec.run.empty() || spec.run[0].empty() || spec.run[0][0] != '/')
                fail(value, source, "run must start with an absolute program path (no shell, no PATH lookup)");
        } else if (name == "url") {
            const auto* text = value.as_string();
            if (!text || (text->get().rfind("http://", 0) != 0 && text->get().rfind("https://", 0) != 0))
                fail(value, source, "url must be an http:// or https:// URL");
            spec.url = text->get();
        } else if (name == "timeout") {
            spec.timeout = std::chrono::seconds(integer(value, source, "timeout", 1, 3600));
        } else if (name == "retries") {
            spec.retries = static_cast<unsigned>(integer(value, source, "retries", 0, 100));
        } else {
            fail(value, source, cat("unknown key \"", name, "\" (known: events, run, url, timeout, retries)"));
        }
    }
    if (!has_events) fail(node, source, "events is missing");
    if (spec.run.empty() == spec.url.empty()) fail(node, source, "give exactly one of run and url");
    return spec;
}

}  // namespace

std::string HookSpec::where() const { return cat("hook of line ", line, run.empty() ? cat(" (", url, ")") : cat(" (", run[0], ")")); }

std::vector<HookSpec> read_hooks(const toml::node& node, const std::string& source) {
    const auto* array = node.as_array();
    if (!array) fail(node, source, "write hooks as [[hook]] tables");
    std::vector<HookSpec> hooks;
    for (const auto& entry : *array) hooks.push_back(read_one(entry, source));
    return hooks;
}

}  // namespace ferry::app
