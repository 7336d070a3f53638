#include "client/batch.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "client/digest.hpp"
#include "client/errors.hpp"
#include "client/interrupt.hpp"
#include "client/local.hpp"
#include "client/transfer.hpp"
#include "fs/listing_stream.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <thread>

namespace ferry::client {
namespace {

namespace fsys = std::filesystem;

std::string seconds_since(std::chrono::steady_clock::time_point start) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f s", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return text;
}

std::string describe(const Tally& tally) {
    std::string text = cat(tally.transferred, " transferred (", format_size(tally.bytes), ")");
    if (tally.unchanged) text += cat(", ", tally.unchanged, " unchanged");
    text += cat(", ", tally.skipped, " skipped, ", tally.failed, " failed, ", tally.verified, " verified");
    if (tally.deleted) text += cat(", ", tally.deleted, " deleted");
    return text;
}

std::string folder_part(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::uint64_t total_size(const std::vector<FileJob>& jobs) {
    return std::accumulate(jobs.begin(), jobs.end(), std::uint64_t{0},
                           [](std::uint64_t sum, const FileJob& job) { return sum + job.size; });
}

// What uploading the jobs adds to the account's usage: a listed remote file is replaced or kept.
std::uint64_t bytes_needed(const std::vector<FileJob>& jobs) {
    std::uint64_t needed = 0;
    for (const FileJob& job : jobs) {
        const std::uint64_t there = job.hint.listed ? job.hint.remote_size.value_or(0) : 0;
        needed += job.size - std::min(job.size, there);
    }
    return needed;
}

}  // namespace

Options batch_options(const Options& options) {
    Options adjusted = options;
    if (adjusted.answer == ResumeAnswer::ask) adjusted.answer = ResumeAnswer::proven;
    return adjusted;
}

struct Batch::Shared {
    Direction direction;
    const std::vector<FileJob>& jobs;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stopping{false};
};

Batch::Batch(Context& context, std::string name)
    : context_(context), name_(std::move(name)), started_(std::chrono::steady_clock::now()) {}

void Batch::say(const std::string& line, bool error) {
    if (board_) return board_->say(line, error);
    (error ? std::cerr : std::cout) << line << "\n";
}

void Batch::fail(const std::string& shown, const std::string& why) {
    const std::lock_guard lock(mutex_);
    ++tally_.failed;
    say(cat("error: ", name_, " ", shown, ": ", why), true);
}

// The context's session, and more opened like it until `wanted` or the server says no more.
std::vector<std::unique_ptr<Session>> Batch::open_sessions(std::size_t wanted) {
    std::vector<std::unique_ptr<Session>> more;
    for (std::size_t n = 1; n < wanted; ++n) {
        try {
            more.push_back(context_.session.open_another());
        } catch (const ClientError& refused) {  // 421/530 for too many sessions, or no connection
            std::cout << "note: " << n << (n == 1 ? " transfer" : " transfers") << " at once, not " << wanted
                      << ": the server refused another session (" << refused.what() << ")\n";
            break;
        }
    }
    return more;
}

void Batch::run(Direction direction, const std::vector<FileJob>& jobs) {
    if (jobs.empty() || tally_.stopped) return;
    if (direction == Direction::up) check_quota_room(context_.session, name_, bytes_needed(jobs));
    const std::size_t wanted = std::min<std::size_t>(context_.options.parallel, jobs.size());
    auto sessions = open_sessions(wanted);
    BatchProgress total(context_.options.progress, name_, jobs.size(), total_size(jobs), sessions.size() + 1);
    board_ = &total;
    Shared shared{direction, jobs};
    const InterruptScope catch_ctrl_c;  // Ctrl-C between two files stops the run too
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        threads.emplace_back([this, &shared, &total, direction, session = sessions[i].get(), slot = i + 1] {
            Verifier verifier(*session, context_.verifier.wanted());
            Context context{*session, verifier, context_.options, true, &total, slot, direction == Direction::up};
            work(shared, context, false);
        });
    }
    Context first{context_.session, context_.verifier, context_.options, true, &total, 0, direction == Direction::up};
    work(shared, first, true);
    for (auto& thread : threads) thread.join();
    for (auto& session : sessions) session->quit();
    total.clear();
    board_ = nullptr;
}

// One transfer thread: takes the next job until none is left or the run stops.
void Batch::work(Shared& shared, Context& context, bool first_session) {
    for (std::size_t i; !shared.stopping && (i = shared.next++) < shared.jobs.size();) {
        const FileJob& job = shared.jobs[i];
        try {
            throw_if_interrupted();
            run_one(shared, job, context);
        } catch (const Interrupted&) {
            const std::lock_guard lock(mutex_);
            if (!tally_.stopped) tally_.stopped = std::current_exception();
            shared.stopping = true;
            repeat_interrupt();  // the other threads' transfers stop with ABOR too
        } catch (const NetError& lost) {
            fail(job.shown, lost.what());
            if (first_session) {
                const std::lock_guard lock(mutex_);
                tally_.stopped = std::current_exception();
                shared.stopping = true;
            }
            if (board_) board_->file_finished(context.slot, job.size);
            return;  // this session is gone: the others go on
        } catch (const ClientError& failed) {
            fail(job.shown, failed.what());
        }
        board_->file_finished(context.slot, job.size);
    }
}

void Batch::run_one(Shared& shared, const FileJob& job, Context& context) {
    const bool up = shared.direction == Direction::up;
    const FileOutcome outcome = up ? put_file(context, job.local, job.remote, job.hint)
                                   : get_file(context, job.remote, job.local, job.hint);
    const std::lock_guard lock(mutex_);
    if (outcome.skipped) {
        ++tally_.skipped;
        return say(cat("skipped ", job.shown));
    }
    ++tally_.transferred;
    tally_.bytes += outcome.moved;
    if (outcome.proven) ++tally_.verified;
    say(cat(up ? "sent " : "received ", job.shown, " (", format_size(job.size),
            outcome.proven ? cat(", ", digest_name(outcome.proven->algo), " verified") : std::string(", size checked"), ")"));
}

void Batch::finish() {
    std::cout << name_ << ": " << describe(tally_) << " in " << seconds_since(started_) << "\n";
    if (tally_.stopped) std::rethrow_exception(tally_.stopped);
    if (tally_.failed) throw ClientError(cat(name_, ": ", tally_.failed, tally_.failed == 1 ? " file" : " files", " failed"));
}

std::vector<std::string> expand_local_pattern(const std::string& typed) {
    const std::string pattern = expand_home(typed);
    const std::string folder = folder_part(pattern);
    const std::string name = pattern.substr(folder.size());
    if (!fs::is_list_pattern(name)) return {pattern};
    std::vector<std::string> matches;
    std::error_code err;
    for (fsys::directory_iterator it(folder.empty() ? fsys::path(".") : fsys::path(folder), err), end; !err && it != end;
         it.increment(err)) {
        const std::string entry = it->path().filename().string();
        std::error_code ignored;
        if (fs::matches_list_pattern(name, entry) && it->is_regular_file(ignored)) matches.push_back(folder + entry);
    }
    if (err) throw ClientError(cat("mput ", typed, ": ", err.message()));
    std::sort(matches.begin(), matches.end());
    return matches;
}

FileHint listed_hint(const Tree& remote, const std::string& path) {
    const auto found = remote.entries.find(path);
    if (found == remote.entries.end() || found->second.type != EntryType::file) return FileHint{true, std::nullopt};
    return FileHint{true, found->second.size};
}

void make_remote_folders(Session& session, const std::string& root, const Tree& tree, const Tree& have) {
    for (const auto& [path, entry] : tree.entries) {
        if (entry.type != EntryType::folder || have.entries.count(path)) continue;
        const std::string remote = join_path(root, path);
        const Reply reply = session.command(cat("MKD ", remote));
        // A server listing with LIST may have hidden it: one that is there already is fine.
        if (!reply.ok() && !have.exists) continue;
        if (!reply.ok()) throw_refusal(cat("mkdir ", remote), reply);
    }
}

void put_many(Context& context, const std::vector<std::string>& patterns) {
    const Options options = batch_options(context.options);
    Context adjusted{context.session, context.verifier, options};
    Batch batch(adjusted, "mput");
    std::vector<FileJob> jobs;
    for (const std::string& pattern : patterns) {
        const auto matches = expand_local_pattern(pattern);
        if (matches.empty()) batch.fail(pattern, "no local file matches");
        for (const std::string& local : matches) {
            const auto info = sys::path_info(local);
            jobs.push_back({local, base_name(local), local, info ? info->size : 0, FileHint{}});
        }
    }
    batch.run(Direction::up, jobs);
    batch.finish();
}

void get_many(Context& context, const std::vector<std::string>& patterns) {
    const Options options = batch_options(context.options);
    Context adjusted{context.session, context.verifier, options};
    Session& session = context.session;
    Batch batch(adjusted, "mget");
    std::vector<FileJob> jobs;
    for (const std::string& pattern : patterns) {
        const std::string names = receive_text(session, session.start_transfer(cat("NLST ", pattern), 0, cat("mget ", pattern)),
                                               cat("mget ", pattern));
        // Folders are left out (get -r takes them): the pattern's folder says which names are files.
        const std::string folder = folder_part(pattern);
        const Tree listed = remote_folder_tree(session, folder);
        std::size_t matched = 0;
        for (std::string_view rest = names; !rest.empty();) {
            const auto end = rest.find('\n');
            std::string name(rest.substr(0, end));
            rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
            if (!name.empty() && name.back() == '\r') name.pop_back();
            if (name.empty()) continue;
            const auto found = listed.entries.find(base_name(name));
            if (found != listed.entries.end() && found->second.type != EntryType::file) continue;
            ++matched;
            const bool known = found != listed.entries.end();
            jobs.push_back({base_name(name), name, name, known ? found->second.size : 0,
                            known ? FileHint{true, found->second.size} : FileHint{}});
        }
        if (!matched) batch.fail(pattern, "no remote file matches");
    }
    batch.run(Direction::down, jobs);
    batch.finish();
}

namespace {
// A job for each file of `source` between `local` and `remote`, with the hint `listed` (the remote
// tree) gives.
std::vector<FileJob> tree_jobs(const Tree& source, const Tree& listed, const std::string& local, const std::string& remote) {
    std::vector<FileJob> jobs;
    for (const auto& [path, entry] : source.entries)
        if (entry.type == EntryType::file)
            jobs.push_back({join_path(local, path), join_path(remote, path), path, entry.size, listed_hint(listed, path)});
    return jobs;
}
}  // namespace

void put_tree(Context& context, const std::string& local, const std::string& remote) {
    const Tree source = local_tree(local);
    if (!source.exists) throw ClientError(cat("put -r: ", local, " is not a folder"));
    const Options options = batch_options(context.options);
    Context adjusted{context.session, context.verifier, options};
    Batch batch(adjusted, "put -r");
    const Tree target = remote_tree(context.session, remote, std::nullopt);
    if (!target.exists) context.session.expect_ok(cat("MKD ", remote), cat("mkdir ", remote));
    make_remote_folders(context.session, remote, source, target);
    batch.run(Direction::up, tree_jobs(source, target, local, remote));
    batch.finish();
}

void get_tree(Context& context, const std::string& remote, const std::string& local) {
    const Tree source = remote_tree(context.session, remote, std::nullopt);
    if (!source.exists) throw ClientError(cat("get -r: ", remote, ": no such folder on the server"));
    const Options options = batch_options(context.options);
    Context adjusted{context.session, context.verifier, options};
    Batch batch(adjusted, "get -r");
    make_local_folders(local, source);
    batch.run(Direction::down, tree_jobs(source, source, local, remote));
    batch.finish();
}

void make_local_folders(const std::string& root, const Tree& tree) {
    std::error_code err;
    fsys::create_directories(root, err);
    if (err) throw ClientError(cat("can't make ", root, ": ", err.message()));
    for (const auto& [path, entry] : tree.entries) {
        if (entry.type != EntryType::folder) continue;
        fsys::create_directories(fsys::path(root) / fsys::path(path), err);
        if (err) throw ClientError(cat("can't make ", join_path(root, path), ": ", err.message()));
    }
}

}  // namespace ferry::client
