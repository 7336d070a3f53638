#include "client/tree.hpp"

#include "base/decimal.hpp"
#include "base/log.hpp"
#include "client/digest.hpp"
#include "client/errors.hpp"
#include "client/transfer.hpp"
#include "fs/listing.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <filesystem>

namespace ferry::client {
namespace {

namespace fsys = std::filesystem;

constexpr std::size_t max_entries = 10'000'000;  // a walk that never ends is a server's bug, not a tree
constexpr std::size_t max_depth = 256;

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string digest_fact(DigestAlgo algo) { return "x." + lowercase(digest_name(algo)); }

// "a=1;b=2;" -> calls `fact(name_lower, value)` for each.
template <class OnFact>
void each_fact(std::string_view facts, OnFact fact) {
    while (!facts.empty()) {
        const auto end = facts.find(';');
        const std::string_view item = facts.substr(0, end);
        const auto equals = item.find('=');
        if (equals != std::string_view::npos) fact(lowercase(item.substr(0, equals)), item.substr(equals + 1));
        facts.remove_prefix(end == std::string_view::npos ? facts.size() : end + 1);
    }
}

std::size_t depth_of(std::string_view path) { return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')); }

void add_entry(Tree& tree, std::string path, TreeEntry entry) {
    if (tree.entries.size() >= max_entries) throw ClientError(cat("more than ", max_entries, " entries: not walked"));
    tree.entries.emplace(std::move(path), std::move(entry));
}

// The entries of one remote folder (MLSD, else LIST).
std::vector<std::pair<std::string, TreeEntry>> remote_folder(Session& session, const std::string& folder,
                                                             std::string_view fact) {
    const bool mlsd = session.features().mlst;
    const std::string verb = mlsd ? "MLSD" : "LIST -a";
    const std::string command = folder.empty() ? verb : cat(verb, ' ', folder);
    const std::string text = receive_text(session, session.start_transfer(command, 0, cat("list ", folder)), cat("list ", folder));
    std::vector<std::pair<std::string, TreeEntry>> entries;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto entry = mlsd ? parse_mlsd_line(line, fact) : parse_list_line(line);
        if (entry && entry->first != "." && entry->first != "..") entries.push_back(std::move(*entry));
    }
    return entries;
}

// Asks for the facts a walk needs (a server may send fewer, and our parser takes what comes).
void choose_facts(Session& session, const std::string& fact) {
    if (!session.features().mlst) return;
    const Reply reply = session.command(cat("OPTS MLST type;size;modify;", fact.empty() ? "" : cat(fact, ';')));
    (void)reply;  // a server without OPTS MLST sends its default facts, which include these
}

}  // namespace

std::string join_path(std::string_view folder, std::string_view name) {
    if (folder.empty()) return std::string(name);
    if (folder.back() == '/') return cat(folder, name);
    return cat(folder, '/', name);
}

bool server_lists_digests(const Session& session, DigestAlgo algo) {
    const auto& facts = session.features().mlst_facts;
    return std::find(facts.begin(), facts.end(), digest_fact(algo)) != facts.end();
}

std::optional<std::pair<std::string, TreeEntry>> parse_mlsd_line(std::string_view line, std::string_view wanted_fact) {
    const auto space = line.find(' ');
    if (space == std::string_view::npos || space == 0) return std::nullopt;
    TreeEntry entry;
    bool typed = false;
    each_fact(line.substr(0, space), [&](const std::string& name, std::string_view value) {
        if (name == "type") {
            const std::string type = lowercase(value);
            typed = true;
            if (type == "file") entry.type = EntryType::file;
            else if (type == "dir") entry.type = EntryType::folder;
            else if (type == "cdir" || type == "pdir") typed = false;
        } else if (name == "size") {
            entry.size = parse_decimal(value).value_or(0);
        } else if (name == "modify") {
            const std::int64_t seconds = fs::parse_utc_timestamp(value);
            entry.mtime = seconds;
        } else if (!wanted_fact.empty() && name == wanted_fact) {
            entry.digest = lowercase(value);
        }
    });
    if (!typed) return std::nullopt;
    return std::pair{std::string(line.substr(space + 1)), std::move(entry)};
}

std::optional<std::pair<std::string, TreeEntry>> parse_list_line(std::string_view line) {
    // Nine fields; the name is the rest after the eighth (it may hold spaces).
    std::size_t position = 0;
    std::string_view fields[8];
    for (auto& field : fields) {
        position = line.find_first_not_of(' ', position);
        if (position == std::string_view::npos) return std::nullopt;
        const auto end = line.find(' ', position);
        if (end == std::string_view::npos) return std::nullopt;
        field = line.substr(position, end - position);
        position = end + 1;
    }
    if (fields[0].size() < 10) return std::nullopt;
    const std::string_view name = line.substr(position);
    if (name.empty()) return std::nullopt;
    TreeEntry entry;
    entry.type = fields[0][0] == 'd' ? EntryType::folder : fields[0][0] == '-' ? EntryType::file : EntryType::other;
    entry.size = parse_decimal(fields[4]).value_or(0);
    return std::pair{std::string(name), std::move(entry)};
}

Tree local_tree(const std::string& root) {
    Tree tree;
    std::error_code err;
    if (!fsys::is_directory(root, err)) {
        if (fsys::exists(root, err)) throw ClientError(cat(root, " is not a folder"));
        return tree;
    }
    tree.exists = true;
    const fsys::path base(root);
    for (fsys::recursive_directory_iterator it(base, err), end; !err && it != end; it.increment(err)) {
        const auto status = it->symlink_status(err);
        if (err) break;
        if (fsys::is_symlink(status)) {
            it.disable_recursion_pending();
            continue;
        }
        const std::string path = it->path().lexically_relative(base).generic_string();
        if (fsys::is_directory(status)) {
            if (depth_of(path) >= max_depth) throw ClientError(cat(root, ": folders nest deeper than ", max_depth));
            add_entry(tree, path, TreeEntry{EntryType::folder, 0, -1, std::nullopt});
        } else if (fsys::is_regular_file(status)) {
            const auto info = sys::path_info(it->path().string());
            if (!info) throw ClientError(cat("can't read ", it->path().string(), ": ", info.error().message()));
            add_entry(tree, path, TreeEntry{EntryType::file, info->size, static_cast<std::int64_t>(info->mtime), std::nullopt});
        }
    }
    if (err) throw ClientError(cat("can't walk ", root, ": ", err.message()));
    return tree;
}

Tree remote_folder_tree(Session& session, const std::string& folder) {
    Tree tree;
    try {
        for (auto& [name, entry] : remote_folder(session, folder, "")) add_entry(tree, name, std::move(entry));
    } catch (const ReplyError& refused) {
        if (refused.code() == 550 || refused.code() == 501) return tree;
        throw;
    }
    tree.exists = true;
    return tree;
}

namespace {
// LIST of a missing folder is an empty listing on some servers (vsftpd): CWD into it tells.
bool remote_folder_exists(Session& session, const std::string& folder) {
    const std::string back = quoted_path(session.expect_ok("PWD", "pwd").text());
    if (!session.command(cat("CWD ", folder)).ok()) return false;
    session.expect_ok(cat("CWD ", back), cat("cd ", back));
    return true;
}
}  // namespace

Tree remote_tree(Session& session, const std::string& root, std::optional<DigestAlgo> digest) {
    const std::string fact = digest && server_lists_digests(session, *digest) ? digest_fact(*digest) : "";
    choose_facts(session, fact);
    Tree tree;
    if (!session.features().mlst && !remote_folder_exists(session, root)) return tree;
    std::deque<std::string> folders{""};
    while (!folders.empty()) {
        const std::string folder = std::move(folders.front());
        folders.pop_front();
        std::vector<std::pair<std::string, TreeEntry>> entries;
        try {
            entries = remote_folder(session, folder.empty() ? root : join_path(root, folder), fact);
        } catch (const ReplyError& refused) {
            // No such folder (yet): 550, or pyftpdlib's "501 No such directory".
            if (folder.empty() && (refused.code() == 550 || refused.code() == 501)) return tree;
            throw;
        }
        if (folder.empty()) tree.exists = true;
        for (auto& [name, entry] : entries) {
            if (name.find('/') != std::string::npos) continue;  // never a name of one folder
            std::string path = join_path(folder, name);
            if (entry.type == EntryType::folder) {
                if (depth_of(path) >= max_depth) throw ClientError(cat(root, ": folders nest deeper than ", max_depth));
                folders.push_back(path);
            }
            add_entry(tree, std::move(path), std::move(entry));
        }
    }
    return tree;
}

}  // namespace ferry::client
