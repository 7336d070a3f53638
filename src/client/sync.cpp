#include "client/sync.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "client/digest.hpp"
#include "client/digest_cache.hpp"
#include "client/errors.hpp"
#include "client/local.hpp"
#include "client/terminal.hpp"
#include "fs/listing.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <iostream>

namespace ferry::client {
namespace {

constexpr std::string_view usage =
    "usage: sync up|down LOCAL REMOTE [--delete [--yes]] [--dry-run] [--checksum-only | --size-only]";

enum class Why { added, changed, partial };

struct Change {
    std::string path;
    Why why;
    std::uint64_t size;
};

struct SyncPlan {
    std::vector<std::string> folders;  // to make on the target
    std::vector<Change> transfers;
    std::vector<std::pair<std::string, std::string>> conflicts;  // path, why it cannot be synced
    std::vector<std::pair<std::string, EntryType>> deletions;     // children before their folders
    std::size_t unchanged = 0;
};

const char* why_name(Why why) {
    switch (why) {
        case Why::added: return "new";
        case Why::changed: return "changed";
        case Why::partial: return "partial: resumed if its prefix is proven";
    }
    return "";
}

// Files whose sizes are equal, to be compared by digest (or by time without HASH).
struct Candidate {
    std::string path;
    std::uint64_t size;
};

class Planner {
public:
    Planner(Context& context, const SyncRequest& request, const Tree& local, const Tree& remote)
        : context_(context), request_(request), local_(local), remote_(remote),
          source_(request.direction == Direction::up ? local : remote),
          target_(request.direction == Direction::up ? remote : local) {}

    SyncPlan plan();

private:
    void compare_digests(const std::vector<Candidate>& candidates, DigestAlgo algo);
    void compare_times(const std::vector<Candidate>& candidates);
    std::int64_t remote_mtime(const std::string& path);
    void plan_deletions();

    Context& context_;
    const SyncRequest& request_;
    const Tree& local_;
    const Tree& remote_;
    const Tree& source_;
    const Tree& target_;
    SyncPlan plan_;
};

SyncPlan Planner::plan() {
    std::vector<Candidate> equal_sizes;
    for (const auto& [path, entry] : source_.entries) {
        const auto found = target_.entries.find(path);
        const bool absent = found == target_.entries.end();
        if (entry.type == EntryType::folder) {
            if (absent) plan_.folders.push_back(path);
            else if (found->second.type != EntryType::folder) plan_.conflicts.emplace_back(path, "a file of that name is in the way of the folder");
            continue;
        }
        if (entry.type != EntryType::file) continue;
        if (absent) {
            plan_.transfers.push_back({path, Why::added, entry.size});
        } else if (found->second.type != EntryType::file) {
            plan_.conflicts.emplace_back(path, "a folder of that name is in the way of the file");
        } else if (found->second.size != entry.size) {
            const Why why = found->second.size < entry.size && request_.compare != Compare::size_only ? Why::partial : Why::changed;
            plan_.transfers.push_back({path, why, entry.size});
        } else if (request_.compare == Compare::size_only) {
            ++plan_.unchanged;
        } else {
            equal_sizes.push_back({path, entry.size});
        }
    }
    if (const auto algo = context_.verifier.hash_algo()) {
        compare_digests(equal_sizes, *algo);
    } else {
        compare_times(equal_sizes);
    }
    if (request_.remove) plan_deletions();
    return std::move(plan_);
}

// The server's digests from its listing where it gave them, the others by pipelined HASH.
void Planner::compare_digests(const std::vector<Candidate>& candidates, DigestAlgo algo) {
    std::vector<std::optional<std::string>> remote(candidates.size());
    std::vector<std::string> ask;
    std::vector<std::size_t> asked;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto& entry = remote_.entries.at(candidates[i].path);
        if (entry.digest) {
            remote[i] = entry.digest;
        } else {
            ask.push_back(join_path(request_.remote, candidates[i].path));
            asked.push_back(i);
        }
    }
    const auto answers = context_.verifier.whole_many(ask);
    for (std::size_t k = 0; k < answers.size(); ++k)
        if (answers[k] && answers[k]->algo == algo) remote[asked[k]] = answers[k]->hex;
    DigestCache cache;  // an unchanged local file is not read again
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const std::string mine = cache.digest(join_path(request_.local, candidates[i].path), algo);
        if (remote[i] && *remote[i] == mine) ++plan_.unchanged;
        else plan_.transfers.push_back({candidates[i].path, Why::changed, candidates[i].size});
    }
}

std::int64_t Planner::remote_mtime(const std::string& path) {
    const std::int64_t listed = remote_.entries.at(path).mtime;
    if (listed >= 0) return listed;
    const Reply reply = context_.session.command(cat("MDTM ", join_path(request_.remote, path)));
    return reply.code == 213 ? fs::parse_utc_timestamp(reply.text()) : -1;
}

// Without digests: the source is newer than the target -> changed. A time that cannot be read
// counts as changed (sending again is safe, leaving a changed file is not).
void Planner::compare_times(const std::vector<Candidate>& candidates) {
    if (request_.compare == Compare::checksum_only)
        throw ClientError("sync --checksum-only: the server offers no HASH, so files cannot be compared by digest");
    if (!candidates.empty())
        std::cout << "note: the server offers no HASH: files of equal size are compared by modification time\n";
    for (const Candidate& candidate : candidates) {
        const std::int64_t remote = remote_mtime(candidate.path);
        const std::int64_t local = local_.entries.at(candidate.path).mtime;
        const bool source_newer = request_.direction == Direction::up ? local > remote : remote > local;
        if (remote < 0 || source_newer) plan_.transfers.push_back({candidate.path, Why::changed, candidate.size});
        else ++plan_.unchanged;
    }
}

void Planner::plan_deletions() {
    for (const auto& [path, entry] : target_.entries)
        if (!source_.entries.count(path)) plan_.deletions.emplace_back(path, entry.type);
    // Deepest first, so a folder is empty when its turn comes.
    std::stable_sort(plan_.deletions.begin(), plan_.deletions.end(), [](const auto& a, const auto& b) {
        return std::count(a.first.begin(), a.first.end(), '/') > std::count(b.first.begin(), b.first.end(), '/');
    });
}

std::string verb(const SyncRequest& request) { return request.direction == Direction::up ? "sync up" : "sync down"; }

void show_dry_run(const SyncRequest& request, const SyncPlan& plan) {
    std::uint64_t bytes = 0;
    for (const auto& folder : plan.folders) std::cout << "would make folder " << folder << "\n";
    for (const auto& change : plan.transfers) {
        std::cout << "would send " << change.path << " (" << why_name(change.why) << ", " << format_size(change.size) << ")\n";
        bytes += change.size;
    }
    for (const auto& [path, type] : plan.deletions) std::cout << "would delete " << path << (type == EntryType::folder ? "/" : "") << "\n";
    for (const auto& [path, why] : plan.conflicts) std::cout << "can't sync " << path << ": " << why << "\n";
    std::cout << verb(request) << " --dry-run: " << plan.transfers.size() << " to transfer (" << format_size(bytes) << "), "
              << plan.unchanged << " unchanged, " << plan.deletions.size() << " to delete, " << plan.conflicts.size()
              << " in conflict; nothing was changed\n";
}

// Lists what --delete removes; asks at a terminal, needs --yes without one.
bool confirm_deletions(const SyncRequest& request, const SyncPlan& plan) {
    if (plan.deletions.empty()) return true;
    const std::string side = request.direction == Direction::up ? "on the server" : "here";
    std::cout << plan.deletions.size() << (plan.deletions.size() == 1 ? " entry is" : " entries are")
              << " not in the source and will be deleted " << side << ":\n";
    for (const auto& [path, type] : plan.deletions) std::cout << "  " << path << (type == EntryType::folder ? "/" : "") << "\n";
    if (request.yes) return true;
    if (!stdin_is_terminal())
        throw ClientError(cat(verb(request), " --delete: no terminal to confirm the deletions: add --yes (nothing was changed)"));
    static constexpr std::array<std::string_view, 2> choices{"yes", "no"};
    const auto answer = ask_choice("delete them? yes / no [no] ", choices, "no");
    return answer && *answer == "yes";
}

void delete_entries(Context& context, const SyncRequest& request, const SyncPlan& plan, Batch& batch) {
    for (const auto& [path, type] : plan.deletions) {
        try {
            if (request.direction == Direction::up) {
                const std::string remote = join_path(request.remote, path);
                context.session.expect_ok(cat(type == EntryType::folder ? "RMD " : "DELE ", remote), cat("delete ", remote));
            } else {
                std::error_code err;
                std::filesystem::remove(std::filesystem::path(join_path(request.local, path)), err);
                if (err) throw ClientError(err.message());
            }
            ++batch.tally().deleted;
            std::cout << "deleted " << path << (type == EntryType::folder ? "/" : "") << "\n";
        } catch (const NetError&) {
            throw;
        } catch (const ClientError& failed) {
            batch.fail(path, cat("not deleted: ", failed.what()));
        }
    }
}

void make_folders(Context& context, const SyncRequest& request, const SyncPlan& plan, bool target_exists) {
    if (request.direction == Direction::up) {
        if (!target_exists) context.session.expect_ok(cat("MKD ", request.remote), cat("mkdir ", request.remote));
        for (const auto& folder : plan.folders) {
            const std::string remote = join_path(request.remote, folder);
            context.session.expect_ok(cat("MKD ", remote), cat("mkdir ", remote));
        }
        return;
    }
    Tree folders;
    for (const auto& folder : plan.folders) folders.entries[folder] = TreeEntry{EntryType::folder, 0, -1, std::nullopt};
    make_local_folders(request.local, folders);
}

}  // namespace

SyncRequest parse_sync(const std::vector<std::string>& words) {
    SyncRequest request;
    std::vector<std::string> positional;
    for (const std::string& word : words) {
        if (word == "--delete") request.remove = true;
        else if (word == "--yes") request.yes = true;
        else if (word == "--dry-run" || word == "-n") request.dry_run = true;
        else if (word == "--checksum-only") request.compare = Compare::checksum_only;
        else if (word == "--size-only") request.compare = Compare::size_only;
        else if (word.size() > 1 && word[0] == '-') throw ClientError(cat("sync: unknown option ", word, "\n", usage));
        else positional.push_back(word);
    }
    if (positional.size() != 3 || (positional[0] != "up" && positional[0] != "down")) throw ClientError(std::string(usage));
    request.direction = positional[0] == "up" ? Direction::up : Direction::down;
    request.local = expand_home(positional[1]);
    request.remote = positional[2];
    return request;
}

void sync(Context& context, const SyncRequest& request) {
    const Options options = batch_options(context.options);
    Context adjusted{context.session, context.verifier, options};
    const auto algo = request.compare == Compare::size_only ? std::nullopt : context.verifier.hash_algo();
    const Tree local = local_tree(request.local);
    const Tree remote = remote_tree(context.session, request.remote, algo);
    const Tree& source = request.direction == Direction::up ? local : remote;
    if (!source.exists)
        throw ClientError(cat(verb(request), ": ", request.direction == Direction::up ? request.local : request.remote,
                              request.direction == Direction::up ? ": no such local folder" : ": no such folder on the server"));
    Batch batch(adjusted, verb(request));
    const SyncPlan plan = Planner(adjusted, request, local, remote).plan();
    if (request.dry_run) return show_dry_run(request, plan);
    const bool deleting = request.remove && confirm_deletions(request, plan);
    make_folders(adjusted, request, plan, (request.direction == Direction::up ? remote : local).exists);
    for (const auto& [path, why] : plan.conflicts) batch.fail(path, why);
    std::vector<FileJob> jobs;
    for (const Change& change : plan.transfers)
        jobs.push_back({join_path(request.local, change.path), join_path(request.remote, change.path), change.path,
                        change.size, listed_hint(remote, change.path)});
    batch.tally().unchanged = plan.unchanged;
    if (jobs.empty() && plan.deletions.empty() && plan.conflicts.empty())
        std::cout << "nothing to transfer: " << plan.unchanged << " files unchanged"
                  << (algo ? cat(" (compared by ", digest_name(*algo), ")") : std::string()) << "\n";
    batch.run(request.direction, jobs);
    if (deleting && !batch.tally().stopped) delete_entries(adjusted, request, plan, batch);
    batch.finish();
}

}  // namespace ferry::client
