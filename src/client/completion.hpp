// Tab completion at the prompt: command names for the first word, then local or remote names by
// what the command takes in that position (put's first argument is local, its second remote).
// Remote names come from a listing of the folder being completed, kept until the next command.
#pragma once
#include "client/session.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::client {

enum class PathSide { none, local, remote };

// What the word at `index` (0 = the command) of a command line names. `words` are the words
// before it (index of the word = words.size()).
PathSide side_of_word(const std::vector<std::string>& words);

// The candidates for `word`: each a whole replacement for it ("docs/" for a folder).
class Completer {
public:
    explicit Completer(Session& session) : session_(session) {}

    std::vector<std::string> complete(std::string_view line_before_word, std::string_view word);
    // A command ran: what it changed may differ from the listings kept.
    void forget() { remote_cache_.clear(); }

private:
    std::vector<std::string> remote_names(const std::string& folder);  // "docs/" for folders

    Session& session_;
    std::map<std::string, std::vector<std::string>> remote_cache_;
};

// The names in local `folder` ("" = the current one), folders with a '/' after them.
std::vector<std::string> local_names(const std::string& folder);
// The commands the prompt knows, for the first word.
const std::vector<std::string>& command_names();

}  // namespace ferry::client
