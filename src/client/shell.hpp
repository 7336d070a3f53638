// The `[user]# ` prompt: splits lines into commands and words, runs each command, keeps score for
// the exit status.
#pragma once
#include "client/completion.hpp"
#include "client/files.hpp"
#include "client/options.hpp"
#include "client/session.hpp"
#include "client/verify.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ferry::client {

using Words = std::vector<std::string>;

// Shell-like words: spaces separate, "double" or 'single' quotes group, backslash escapes, and a
// '#' that begins a word begins a comment.
Words split_words(std::string_view line);
// "cmd; cmd" -> {"cmd", "cmd"}; semicolons inside quotes stay.
std::vector<std::string> split_commands(std::string_view text);

class Shell {
public:
    Shell(Session& session, const Options& options);

    // Runs "cmd; cmd" (from -c). Returns the exit status: 0 when every command succeeded.
    int run_batch(std::string_view commands);
    // Runs commands from stdin until `quit` or end of input, with a prompt on a terminal.
    int run_input();
    // Runs one command; false when it failed.
    bool run_one(std::string_view line);

private:
    void dispatch(const Words& words);
    void list(const Words& args);
    void change_directory(const Words& args);
    void print_working_directory();
    void change_local(const Words& args);
    void list_local_folder(const Words& args);
    void simple(const Words& args, std::string_view verb, std::string_view action, std::size_t min_args);
    void rename(const Words& args);
    void put(const Words& args);
    void get(const Words& args);
    void put_matching(const Words& args);
    void get_matching(const Words& args);
    void synchronize(const Words& args);
    void quota();
    void hash(const Words& args);
    void help() const;
    void history() const;

    Session& session_;
    const Options& options_;
    Verifier verifier_;
    Context context_;
    Completer completer_;
    bool quit_ = false;
    bool connection_lost_ = false;
    bool interrupted_ = false;  // Ctrl-C stopped a transfer: a batch ends there
    bool interactive_ = false;  // commands typed at the prompt (a Ctrl-C only ends the transfer)
    std::vector<std::string> history_;
};

}  // namespace ferry::client
