// Commands over many files: mput, mget, put -r, get -r, and the transfer half of sync. Each file
// goes through put_file/get_file (resume proven by digest, every file verified), with a line per
// file, a total bar under the file's bar, and a summary at the end.
#pragma once
#include "client/files.hpp"
#include "client/tree.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::client {

enum class Direction { up, down };

struct FileJob {
    std::string local;
    std::string remote;
    std::string shown;       // how lines name it: "docs/a.txt"
    std::uint64_t size = 0;  // the source's size, for the total bar
    FileHint hint;           // the remote side as listed, where it was
};

struct Tally {
    std::size_t transferred = 0;
    std::size_t skipped = 0;
    std::size_t failed = 0;
    std::size_t verified = 0;
    std::size_t unchanged = 0;  // sync: found equal, not touched
    std::size_t deleted = 0;    // sync --delete
    std::uint64_t bytes = 0;    // moved in this run
    std::exception_ptr stopped;  // Ctrl-C or a lost connection ended the run early
};

// A many-file command's options for put_file/get_file: the resume question is not asked per file
// (a proven prefix is resumed, anything else overwritten) unless an answer was given.
Options batch_options(const Options& options);

class Batch {
public:
    // `name` begins the lines: "mput", "get -r", "sync up".
    Batch(Context& context, std::string name);

    // Runs the jobs, options.parallel at once (each on its own session: the context's and more
    // opened like it; fewer when the server refuses more). A failed file is counted and the next
    // one runs. Ctrl-C (after ABOR) or the loss of the first session stops the run: kept in
    // tally().stopped for finish().
    void run(Direction direction, const std::vector<FileJob>& jobs);
    // The summary line; rethrows what stopped the run; throws ClientError when a file failed (so a
    // batch exits 1).
    void finish();

    Tally& tally() { return tally_; }
    void fail(const std::string& shown, const std::string& why);

private:
    struct Shared;  // what the transfer threads of one run share
    std::vector<std::unique_ptr<Session>> open_sessions(std::size_t wanted);
    void work(Shared& shared, Context& context, bool first_session);
    void run_one(Shared& shared, const FileJob& job, Context& context);
    void say(const std::string& line, bool error = false);

    Context& context_;
    std::string name_;
    Tally tally_;
    std::mutex mutex_;  // tally_ and the lines, between transfer threads
    BatchProgress* board_ = nullptr;
    std::chrono::steady_clock::time_point started_;
};

// The commands. `args` are the words after the command's name, options included.
void put_many(Context& context, const std::vector<std::string>& patterns);          // mput
void get_many(Context& context, const std::vector<std::string>& patterns);          // mget
void put_tree(Context& context, const std::string& local, const std::string& remote);  // put -r
void get_tree(Context& context, const std::string& remote, const std::string& local);  // get -r

// Local names matching a shell pattern in its last component ("*.txt", "logs/2026-0?.log"), sorted;
// a name without pattern characters as it is. Regular files only.
std::vector<std::string> expand_local_pattern(const std::string& pattern);
// The hint for `path` from a listing of the remote tree (listed, its size or absent).
FileHint listed_hint(const Tree& remote, const std::string& path);
// Makes the folders of `tree` (relative paths) beneath `root` on the server, those not in `have`.
void make_remote_folders(Session& session, const std::string& root, const Tree& tree, const Tree& have);
// Makes `root` and the folders of `tree` beneath it on this machine.
void make_local_folders(const std::string& root, const Tree& tree);

}  // namespace ferry::client
