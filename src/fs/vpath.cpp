// Virtual path normalisation: pure string work, no file system access.
#include "fs/vpath.hpp"

#include <vector>

namespace ferry::fs {

namespace {

// Apply the '/'-separated components of `path` to `parts`: "" and "." vanish, ".." pops one
// component and never climbs above the root.
void apply_components(std::string_view path, std::vector<std::string_view>& parts) {
    while (!path.empty()) {
        const auto slash = path.find('/');
        const std::string_view part = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
}

std::string join_absolute(const std::vector<std::string_view>& parts) {
    if (parts.empty()) return "/";
    std::string out;
    for (const auto part : parts) {
        out += '/';
        out += part;
    }
    return out;
}

}  // namespace

std::string vpath_resolve(std::string_view cwd, std::string_view arg) {
    if (arg.find('\0') != std::string_view::npos || cwd.find('\0') != std::string_view::npos) return "";
    std::vector<std::string_view> parts;
    // A relative argument continues from cwd; cwd itself is normalised too, in case it is not.
    if (arg.empty() || arg.front() != '/') apply_components(cwd, parts);
    apply_components(arg, parts);
    return join_absolute(parts);
}

std::string vpath_relative(std::string_view vpath) {
    const auto first = vpath.find_first_not_of('/');
    if (first == std::string_view::npos) return ".";
    return std::string(vpath.substr(first));
}

std::string vpath_parent(std::string_view vpath) {
    const auto slash = vpath.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return "/";
    return std::string(vpath.substr(0, slash));
}

std::string_view vpath_name(std::string_view vpath) {
    const auto slash = vpath.rfind('/');
    if (slash == std::string_view::npos) return vpath;
    return vpath.substr(slash + 1);
}

std::size_t vpath_depth(std::string_view vpath) {
    std::size_t depth = 0;
    for (std::size_t i = 0; i < vpath.size(); ++i)
        if (vpath[i] == '/' && i + 1 < vpath.size()) ++depth;
    return depth;
}

std::string vpath_quote(std::string_view vpath) {
    std::string out = "\"";
    out.reserve(vpath.size() + 2);
    for (const char c : vpath) {
        // A CR or LF inside a reply would end it early and let a folder name forge replies.
        out += (c == '\r' || c == '\n') ? '?' : c;
        if (c == '"') out += '"';
    }
    out += '"';
    return out;
}

}  // namespace ferry::fs
