#include "client/shell.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "client/batch.hpp"
#include "client/digest.hpp"
#include "client/errors.hpp"
#include "client/interrupt.hpp"
#include "client/line_editor.hpp"
#include "client/local.hpp"
#include "client/sync.hpp"
#include "client/terminal.hpp"
#include "client/transfer.hpp"

#include <iostream>

namespace ferry::client {
namespace {

constexpr std::size_t max_history = 1000;

void require_args(const Words& args, std::size_t min, std::size_t max, std::string_view usage) {
    if (args.size() - 1 < min || args.size() - 1 > max) throw ClientError(cat("usage: ", usage));
}

// ls and lls: [-l] [path].
struct ListArguments {
    bool long_format = false;
    std::string path;
};
ListArguments list_arguments(const Words& args) {
    ListArguments parsed;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "-l") parsed.long_format = true;
        else if (parsed.path.empty()) parsed.path = args[i];
        else throw ClientError(cat("usage: ", args[0], " [-l] [path]"));
    }
    return parsed;
}

// Reply lines without their codes, for messages the user should read in full.
void print_reply_text(const Reply& reply) {
    for (const std::string& line : reply.lines) {
        const bool coded = line.size() >= 4 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                           (line[3] == '-' || line[3] == ' ');
        std::cout << (coded ? line.substr(4) : line) << "\n";
    }
}

}  // namespace

Words split_words(std::string_view line) {
    Words words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quote) {
            if (c == quote) quote = 0;
            else if (c == '\\' && quote == '"' && i + 1 < line.size()) word += line[++i];
            else word += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
            in_word = true;
        } else if (c == '\\' && i + 1 < line.size()) {
            word += line[++i];
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else if (c == '#' && !in_word) {
            break;  // a comment to the end of the line, as in a shell
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote) throw ClientError("unbalanced quote");
    if (in_word) words.push_back(std::move(word));
    return words;
}

std::vector<std::string> split_commands(std::string_view text) {
    std::vector<std::string> commands;
    std::string current;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '\\' && i + 1 < text.size()) {
            current += c;
            current += text[++i];
            continue;
        } else if (c == ';' || c == '\n') {
            commands.push_back(std::move(current));
            current.clear();
            continue;
        }
        current += c;
    }
    commands.push_back(std::move(current));
    return commands;
}

Shell::Shell(Session& session, const Options& options)
    : session_(session),
      options_(options),
      verifier_(session, options.digest),
      context_{session, verifier_, options},
      completer_(session) {}

bool Shell::run_one(std::string_view line) {
    try {
        const auto bang = line.find_first_not_of(" \t");
        if (bang != std::string_view::npos && line[bang] == '!') {  // the rest of the line, as typed, to the local shell
            if (history_.size() < max_history) history_.emplace_back(line);
            const int status = run_local_command(std::string(line.substr(bang + 1)));
            if (status != 0) throw ClientError(cat("!", line.substr(bang + 1), ": exit status ", status));
            return true;
        }
        const Words words = split_words(line);
        if (words.empty()) return true;
        if (history_.size() < max_history) history_.emplace_back(line);
        dispatch(words);
        return true;
    } catch (const Interrupted& stopped) {
        std::cerr << "error: " << stopped.what() << "\n";
        interrupted_ = true;
    } catch (const NetError& lost) {
        std::cerr << "error: " << lost.what() << "\nerror: the connection to the server is lost\n";
        connection_lost_ = true;
    } catch (const ClientError& failed) {
        std::cerr << "error: " << failed.what() << "\n";
    } catch (const std::exception& bug) {
        std::cerr << "error: " << bug.what() << "\n";
    }
    return false;
}

int Shell::run_batch(std::string_view commands) {
    int status = 0;
    for (const std::string& command : split_commands(commands)) {
        if (!run_one(command)) status = 1;
        if (quit_ || connection_lost_ || (interrupted_ && !interactive_)) break;
    }
    return status;
}

int Shell::run_input() {
    const bool interactive = stdin_is_terminal();
    interactive_ = interactive;
    const std::string prompt = cat("[", session_.user(), "]# ");
    std::optional<LineEditor> editor;
    if (interactive) editor.emplace(completer_);
    int status = 0;
    for (long n = 0; n < 100'000'000 && !quit_ && !connection_lost_; ++n) {
        const auto line = editor ? editor->read(prompt) : read_input_line();
        if (!line) break;
        if (editor) editor->remember(*line);
        if (run_batch(*line) != 0) status = 1;
        completer_.forget();
    }
    if (interactive && !quit_) std::cout << "\n";
    return status;
}

void Shell::dispatch(const Words& words) {
    const std::string& name = words[0];
    if (name == "ls" || name == "dir") return list(words);
    if (name == "cd") return change_directory(words);
    if (name == "pwd") return print_working_directory();
    if (name == "lcd") return change_local(words);
    if (name == "lpwd") return void(std::cout << local_directory() << "\n");
    if (name == "lls") return list_local_folder(words);
    if (name == "mkdir") return simple(words, "MKD", "mkdir", 1);
    if (name == "rmdir") return simple(words, "RMD", "rmdir", 1);
    if (name == "rm" || name == "delete") return simple(words, "DELE", "rm", 1);
    if (name == "mv" || name == "rename") return rename(words);
    if (name == "put") return put(words);
    if (name == "get") return get(words);
    if (name == "mput") return put_matching(words);
    if (name == "mget") return get_matching(words);
    if (name == "sync") return synchronize(words);
    if (name == "quota") return quota();
    if (name == "hash") return hash(words);
    if (name == "help" || name == "?") return help();
    if (name == "history") return history();
    if (name == "quit" || name == "exit" || name == "bye") {
        quit_ = true;
        return;
    }
    throw ClientError(cat("unknown command '", name, "' (try help)"));
}

void Shell::list(const Words& args) {
    const auto [long_format, path] = list_arguments(args);
    const std::string verb = long_format ? "LIST" : "NLST";
    const std::string command = path.empty() ? verb : cat(verb, " ", path);
    const std::string action = cat("ls ", path.empty() ? "." : path);
    std::string text = receive_text(session_, session_.start_transfer(command, 0), action);
    if (!text.empty() && text.back() != '\n') text += '\n';
    std::string cleaned;  // listings arrive with CR LF
    cleaned.reserve(text.size());
    for (char c : text)
        if (c != '\r') cleaned += c;
    std::cout << cleaned;
}

void Shell::change_directory(const Words& args) {
    require_args(args, 1, 1, "cd DIR");
    const std::string line = args[1] == ".." ? std::string("CDUP") : cat("CWD ", args[1]);
    session_.expect_ok(line, cat("cd ", args[1]));
}

void Shell::print_working_directory() {
    const Reply reply = session_.expect_ok("PWD", "pwd");
    std::cout << quoted_path(reply.text()) << "\n";
}

void Shell::change_local(const Words& args) {
    require_args(args, 0, 1, "lcd [DIR]");
    change_local_directory(args.size() > 1 ? args[1] : std::string("~"));
    std::cout << "local directory now " << local_directory() << "\n";
}

void Shell::list_local_folder(const Words& args) {
    const auto [long_format, path] = list_arguments(args);
    list_local(path, long_format);
}

void Shell::simple(const Words& args, std::string_view verb, std::string_view action, std::size_t min_args) {
    require_args(args, min_args, 1000, cat(action, " PATH..."));
    if (args.size() == 2) {
        session_.expect_ok(cat(verb, " ", args[1]), cat(action, " ", args[1]));
        return;
    }
    std::size_t failed = 0;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const Reply reply = session_.command(cat(verb, " ", args[i]));
        if (reply.ok()) continue;
        std::cerr << "error: " << describe_refusal(cat(action, " ", args[i]), reply) << "\n";
        ++failed;
    }
    if (failed) throw ClientError(cat(action, ": ", failed, " of ", args.size() - 1, " failed"));
}

void Shell::rename(const Words& args) {
    require_args(args, 2, 2, "mv FROM TO");
    const Reply from = session_.command(cat("RNFR ", args[1]));
    if (from.code != 350) throw_refusal(cat("mv ", args[1]), from);
    session_.expect_ok(cat("RNTO ", args[2]), cat("mv ", args[1], " ", args[2]));
}

// A many-file command's words without "-j N", and the options it runs with.
struct ManyFiles {
    Words words;
    Options options;
};
ManyFiles many_files(const Words& args, const Options& options) {
    ManyFiles parsed{{}, options};
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "-j" && i + 1 < args.size()) parsed.options.parallel = parse_parallel(args[++i], cat(args[0], " -j"));
        else if (args[i].rfind("-j", 0) == 0 && args[i].size() > 2) parsed.options.parallel = parse_parallel(args[i].substr(2), cat(args[0], " -j"));
        else parsed.words.push_back(args[i]);
    }
    return parsed;
}

void Shell::put(const Words& typed) {
    if (typed.size() > 1 && typed[1] == "-r") {
        const auto [args, options] = many_files(typed, options_);
        require_args(args, 2, 3, "put -r [-j N] LOCAL [REMOTE]");
        Context context{session_, verifier_, options};
        const std::string local = expand_home(args[2]);
        return put_tree(context, local, args.size() > 3 ? args[3] : base_name(local));
    }
    const Words& args = typed;
    require_args(args, 1, 2, "put [-r] LOCAL [REMOTE]");
    const std::string local = expand_home(args[1]);
    put_file(context_, local, args.size() > 2 ? args[2] : base_name(local));
}

void Shell::get(const Words& typed) {
    if (typed.size() > 1 && typed[1] == "-r") {
        const auto [args, options] = many_files(typed, options_);
        require_args(args, 2, 3, "get -r [-j N] REMOTE [LOCAL]");
        Context context{session_, verifier_, options};
        return get_tree(context, args[2], args.size() > 3 ? expand_home(args[3]) : base_name(args[2]));
    }
    const Words& args = typed;
    require_args(args, 1, 2, "get [-r] REMOTE [LOCAL]");
    get_file(context_, args[1], args.size() > 2 ? expand_home(args[2]) : base_name(args[1]));
}

void Shell::put_matching(const Words& typed) {
    const auto [args, options] = many_files(typed, options_);
    require_args(args, 1, 1000, "mput [-j N] PATTERN...");
    Context context{session_, verifier_, options};
    put_many(context, Words(args.begin() + 1, args.end()));
}

void Shell::get_matching(const Words& typed) {
    const auto [args, options] = many_files(typed, options_);
    require_args(args, 1, 1000, "mget [-j N] PATTERN...");
    Context context{session_, verifier_, options};
    get_many(context, Words(args.begin() + 1, args.end()));
}

void Shell::synchronize(const Words& typed) {
    const auto [args, options] = many_files(typed, options_);
    Context context{session_, verifier_, options};
    sync(context, parse_sync(Words(args.begin() + 1, args.end())));
}

void Shell::quota() {
    const Reply site = session_.command("SITE QUOTA");
    if (site.positive_completion()) return print_reply_text(site);
    if (const auto free = session_.available()) {
        std::cout << "available: " << format_size(*free) << " (" << *free << " bytes)\n";
        return;
    }
    throw ClientError(cat("quota: the server reports no quota (SITE QUOTA: ", site.summary(), "; no AVBL)"));
}

void Shell::hash(const Words& args) {
    DigestAlgo algo = options_.digest;
    std::string path;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--algo" && i + 1 < args.size()) {
            const auto parsed = parse_digest_algo(args[++i]);
            if (!parsed) throw ClientError(cat("hash: unknown algorithm '", args[i], "' (md5, sha1, sha256, sha512)"));
            algo = *parsed;
        } else if (path.empty()) {
            path = args[i];
        } else {
            throw ClientError("usage: hash [--algo A] REMOTE");
        }
    }
    if (path.empty()) throw ClientError("usage: hash [--algo A] REMOTE");
    Verifier verifier(session_, algo);
    const auto digest = verifier.whole(path);
    if (!digest) throw ClientError(cat("hash ", path, ": the server offers neither HASH nor an X-command for ", digest_name(algo)));
    std::cout << digest_name(digest->algo) << " " << digest->hex << "  " << path << "\n";
}

void Shell::help() const {
    std::cout << "ls [-l] [path]          list a directory (-l: long format)\n"
                 "cd DIR | pwd            change / show the remote directory\n"
                 "lcd [DIR] | lpwd | lls [-l] [DIR]   the same on this machine (~ is your home)\n"
                 "!COMMAND                run COMMAND with the local shell\n"
                 "mkdir DIR | rmdir DIR   create / remove a remote directory\n"
                 "rm FILE | mv FROM TO    delete / rename remote files\n"
                 "put LOCAL [REMOTE]      upload (resumes a shorter remote copy when it matches)\n"
                 "get REMOTE [LOCAL]      download (resumes a shorter local copy when it matches)\n"
                 "put -r DIR [REMOTE] | get -r DIR [LOCAL]   a whole folder, each file verified\n"
                 "mput PATTERN... | mget PATTERN...          many files (\"*.txt\"), into the current folder\n"
                 "sync up|down LOCAL REMOTE [--delete [--yes]] [--dry-run] [--checksum-only|--size-only]\n"
                 "                        send only what differs (by size, then by digest); --delete\n"
                 "                        removes what the source no longer has\n"
                 "  -j N with any of these: N files at once, each on its own session (default 4)\n"
                 "quota                   used and free space\n"
                 "hash [--algo A] REMOTE  the server's digest of a file (md5, sha1, sha256, sha512)\n"
                 "history | help | quit\n"
                 "Every put/get is checked against the server's digest (--hash to choose it).\n";
}

void Shell::history() const {
    for (std::size_t i = 0; i < history_.size(); ++i) std::cout << i + 1 << "  " << history_[i] << "\n";
}

}  // namespace ferry::client
