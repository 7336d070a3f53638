#include "client/bookmarks.hpp"

#include "base/log.hpp"
#include "client/errors.hpp"

#include <cstdlib>
#include <toml++/toml.h>

namespace ferry::client {
namespace {

[[noreturn]] void fail_at(const std::string& path, const toml::node& node, const std::string& what) {
    const auto& where = node.source().begin;
    throw ClientError(cat(path, ":", where.line, ": ", what));
}

std::string text_of(const std::string& path, const std::string& key, const toml::node& node) {
    if (const auto* text = node.as_string()) return text->get();
    fail_at(path, node, cat(key, ": expected a string"));
}

bool flag_of(const std::string& path, const std::string& key, const toml::node& node) {
    if (const auto* flag = node.as_boolean()) return flag->get();
    fail_at(path, node, cat(key, ": expected true or false"));
}

void apply_key(const std::string& path, const std::string& key, const toml::node& node, Options& options) {
    if (key == "host") {
        options.host = text_of(path, key, node);
    } else if (key == "port") {
        const auto* number = node.as_integer();
        if (!number || number->get() < 1 || number->get() > 65535) fail_at(path, node, "port: expected 1 to 65535");
        options.port = std::to_string(number->get());
    } else if (key == "user") {
        options.user = text_of(path, key, node);
    } else if (key == "tls") {
        options.tls = flag_of(path, key, node);
    } else if (key == "insecure") {
        options.insecure = flag_of(path, key, node);
    } else if (key == "folder") {
        options.start_dir = text_of(path, key, node);
    } else if (key == "hash") {
        const auto algo = parse_digest_algo(text_of(path, key, node));
        if (!algo) fail_at(path, node, "hash: expected md5, sha1, sha256 or sha512");
        options.digest = *algo;
    } else if (key == "jobs") {
        const auto* number = node.as_integer();
        if (!number || number->get() < 1 || number->get() > max_parallel) fail_at(path, node, cat("jobs: expected 1 to ", max_parallel));
        options.parallel = static_cast<unsigned>(number->get());
    } else if (key == "password") {
        fail_at(path, node, "password: ferry keeps no passwords in files; use FERRY_PASSWORD, --password-stdin or the prompt");
    } else {
        fail_at(path, node, cat(key, ": unknown key (known: host, port, user, tls, insecure, folder, hash, jobs)"));
    }
}

}  // namespace

std::string client_config_path() {
    if (const char* chosen = std::getenv("FERRY_CONFIG"); chosen && *chosen) return chosen;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return cat(xdg, "/ferry/config.toml");
    if (const char* appdata = std::getenv("APPDATA"); appdata && *appdata) return cat(appdata, "\\ferry\\config.toml");
    if (const char* home = std::getenv("HOME"); home && *home) return cat(home, "/.config/ferry/config.toml");
    return "config.toml";
}

void apply_bookmark(const std::string& name, Options& options) {
    const std::string path = client_config_path();
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw ClientError(cat("bookmark ", name, ": ", path, ":", e.source().begin.line, ": ", e.description()));
    }
    const toml::table* bookmarks = root["bookmarks"].as_table();
    const toml::table* bookmark = bookmarks ? (*bookmarks)[name].as_table() : nullptr;
    if (!bookmark) {
        std::string known;
        if (bookmarks)
            for (const auto& [key, node] : *bookmarks) known += cat(known.empty() ? "" : ", ", key.str());
        throw ClientError(cat("no bookmark '", name, "' in ", path, known.empty() ? "" : cat(" (there: ", known, ")"),
                              "; add a [bookmarks.", name, "] table with host, user, ..."));
    }
    options.port = "21";  // as for ftp:// URLs, unless the bookmark says
    for (const auto& [key, node] : *bookmark) apply_key(path, std::string(key.str()), node, options);
}

}  // namespace ferry::client
