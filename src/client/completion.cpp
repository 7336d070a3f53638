#include "client/completion.hpp"

#include "client/errors.hpp"
#include "client/local.hpp"
#include "client/shell.hpp"
#include "client/tree.hpp"

#include <algorithm>
#include <filesystem>

namespace ferry::client {
namespace {

constexpr std::size_t max_names = 10'000;  // a folder larger than this completes from its first names

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// "docs/re" -> {"docs/", "re"}
std::pair<std::string, std::string> split_folder(std::string_view word) {
    const auto slash = word.rfind('/');
    if (slash == std::string_view::npos) return {"", std::string(word)};
    return {std::string(word.substr(0, slash + 1)), std::string(word.substr(slash + 1))};
}

std::vector<std::string> with_prefix(const std::vector<std::string>& names, const std::string& folder,
                                     const std::string& prefix) {
    std::vector<std::string> matches;
    for (const std::string& name : names)
        if (starts_with(name, prefix)) matches.push_back(folder + name);
    return matches;
}

// The arguments (after any -options) counted from 1; sync's first one is up/down.
std::size_t argument_number(const std::vector<std::string>& words) {
    std::size_t n = 0;
    for (std::size_t i = 1; i < words.size(); ++i)
        if (words[i].empty() || words[i][0] != '-') ++n;
    return n + 1;
}

}  // namespace

const std::vector<std::string>& command_names() {
    static const std::vector<std::string> names{
        "bye", "cd", "delete", "dir", "exit", "get", "hash", "help", "history", "lcd", "lls", "lpwd", "ls", "mget",
        "mkdir", "mput", "mv", "put", "pwd", "quit", "quota", "rename", "rm", "rmdir", "sync"};
    return names;
}

PathSide side_of_word(const std::vector<std::string>& words) {
    if (words.empty()) return PathSide::none;
    const std::string& command = words[0];
    const std::size_t n = argument_number(words);
    if (command == "lcd" || command == "lls" || command == "mput") return PathSide::local;
    if (command == "put") return n == 1 ? PathSide::local : PathSide::remote;
    if (command == "get") return n == 1 ? PathSide::remote : PathSide::local;
    if (command == "sync") return n == 1 ? PathSide::none : n == 2 ? PathSide::local : PathSide::remote;
    if (command == "cd" || command == "ls" || command == "dir" || command == "rm" || command == "delete" ||
        command == "mv" || command == "rename" || command == "rmdir" || command == "mkdir" || command == "hash" ||
        command == "mget")
        return PathSide::remote;
    return PathSide::none;
}

std::vector<std::string> local_names(const std::string& folder) {
    std::vector<std::string> names;
    std::error_code err;
    const std::string where = folder.empty() ? std::string(".") : expand_home(folder);
    for (std::filesystem::directory_iterator it(where, err), end; !err && it != end && names.size() < max_names;
         it.increment(err)) {
        std::error_code ignored;
        names.push_back(it->path().filename().string() + (it->is_directory(ignored) ? "/" : ""));
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> Completer::remote_names(const std::string& folder) {
    const auto cached = remote_cache_.find(folder);
    if (cached != remote_cache_.end()) return cached->second;
    std::vector<std::string> names;
    try {
        const Tree listed = remote_folder_tree(session_, folder);
        for (const auto& [name, entry] : listed.entries) {
            if (names.size() >= max_names) break;
            names.push_back(name + (entry.type == EntryType::folder ? "/" : ""));
        }
    } catch (const NetError&) {
        throw;
    } catch (const ClientError&) {
        // Not listable: nothing to offer.
    }
    return remote_cache_[folder] = names;
}

std::vector<std::string> Completer::complete(std::string_view line_before_word, std::string_view word) {
    const std::vector<std::string> words = split_words(line_before_word);
    if (words.empty()) return with_prefix(command_names(), "", std::string(word));
    if (words[0] == "sync" && argument_number(words) == 1) return with_prefix({"up", "down"}, "", std::string(word));
    const auto [folder, prefix] = split_folder(word);
    switch (side_of_word(words)) {
        case PathSide::local: return with_prefix(local_names(folder), folder, prefix);
        case PathSide::remote: return with_prefix(remote_names(folder), folder, prefix);
        case PathSide::none: break;
    }
    return {};
}

}  // namespace ferry::client
