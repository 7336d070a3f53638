// Integrity: HASH with OPTS HASH and RANG (draft-bryan-ftpext-hash-02, draft-bryan-ftp-range), and
// the legacy XMD5/XSHA1/XSHA256/XSHA512/XCRC. Digests run on the worker pool; meanwhile the
// session answers NOOP, STAT and ABOR, and ABOR or a disconnect cancels the hash.
#include "base/decimal.hpp"
#include "base/log.hpp"
#include "proto/session.hpp"

#include <optional>

namespace ferry::proto {
namespace {
// How long a HASH waits for the digest an upload of the same file (in another session, perhaps)
// is still computing; past that it hashes the file as it is then and names that range.
constexpr auto kPendingDigestWait = std::chrono::seconds(5);
}  // namespace

void Session::opts_hash(const std::string& value) {
    if (!value.empty()) {
        auto algo = fs::parse_hash_algo(value);
        if (!algo) return reply(501, "Unknown hash algorithm; see FEAT.");
        hash_.algo = *algo;
    }
    reply(200, fs::hash_algo_name(hash_.algo));
}

void Session::cmd_rang(const std::string& arg) {
    const auto space = arg.find(' ');
    auto start = parse_decimal(std::string_view(arg).substr(0, space));
    auto end = space == std::string::npos ? std::nullopt : parse_decimal(std::string_view(arg).substr(space + 1));
    if (!start || !end) return reply(501, "Usage: RANG <start> <end>");
    if (*start == 1 && *end == 0) {  // the draft's way to reset
        transfers().take_range();
        return reply(350, "Range reset.");
    }
    if (*start > *end) {
        transfers().take_range();
        return reply(501, "RANG start is after its end; range reset.");
    }
    transfers().set_range({*start, *end});
    reply(350, cat("Restarting at ", *start, ". Ending at ", *end, "."));
}

void Session::cmd_hash(const std::string& arg) {
    std::uint64_t start = 0, end = UINT64_MAX;
    if (const auto range = transfers().take_range()) {  // RANG's end is inclusive; hash_file's is exclusive
        start = range->start;
        end = range->end == UINT64_MAX ? UINT64_MAX : range->end + 1;
    }
    const fs::HashAlgo algo = hash_.algo;
    start_hash(resolve(arg), algo, start, end, [this, algo, arg](const std::string& hex, std::uint64_t s, std::uint64_t e) {
        // The reply's range is inclusive too; an empty file answers "0-0".
        reply(213, cat(fs::hash_algo_name(algo), ' ', s, '-', e > s ? e - 1 : s, ' ', hex, ' ', arg));
    });
}

void Session::cmd_xmd5(const std::string& arg) { legacy_hash(fs::HashAlgo::md5, arg); }
void Session::cmd_xsha1(const std::string& arg) { legacy_hash(fs::HashAlgo::sha1, arg); }
void Session::cmd_xsha256(const std::string& arg) { legacy_hash(fs::HashAlgo::sha256, arg); }
void Session::cmd_xsha512(const std::string& arg) { legacy_hash(fs::HashAlgo::sha512, arg); }
void Session::cmd_xcrc(const std::string& arg) { legacy_hash(fs::HashAlgo::crc32, arg); }

// "XMD5 <path> [<start> <end>]", end exclusive, as the servers that introduced them take it.
// Names may contain spaces, so the two numbers are looked for at the end only.
void Session::legacy_hash(fs::HashAlgo algo, const std::string& arg) {
    std::string path = arg;
    std::uint64_t start = 0, end = UINT64_MAX;
    const auto last = arg.rfind(' ');
    const auto middle = last == std::string::npos || last == 0 ? std::string::npos : arg.rfind(' ', last - 1);
    if (middle != std::string::npos) {
        auto s = parse_decimal(std::string_view(arg).substr(middle + 1, last - middle - 1));
        auto e = parse_decimal(std::string_view(arg).substr(last + 1));
        if (s && e) {
            if (*s > *e) return reply(501, "Start is after end.");
            start = *s;
            end = *e;
            path = arg.substr(0, middle);
        }
    }
    start_hash(resolve(path), algo, start, end,
               [this](const std::string& hex, std::uint64_t, std::uint64_t) { reply(250, hex); });
}

// Everything a HASH needs once it may run: the file, its range, its slot of the per-user cap.
struct Session::HashJob {
    std::string vpath;
    File file;
    fs::HashAlgo algo;
    std::uint64_t start;
    std::uint64_t end;
    bool whole_file;  // only whole-file digests are kept with the file
    bool running = false;  // run_hash was called (a kept digest and the wait's limit may race)
    net::Reactor::TimerId wait_limit = 0;  // while it waits for an upload's digest
    std::optional<UserJobs::Slot> slot;
    std::shared_ptr<std::atomic<bool>> cancel;
    HashReply respond;
    std::chrono::steady_clock::time_point began;
};

void Session::start_hash(const std::string& vpath, fs::HashAlgo algo, std::uint64_t start, std::uint64_t end,
                         HashReply respond) {
    if (vpath.empty()) return reply(550, "No such file.");
    on_io(
        Need::to(auth::Permission::hash, vpath), [place = place(vpath)] { return open_to_read(place); },
        [this, vpath, algo, start, end, respond = std::move(respond), command = begin_command()](OpenedToRead opened) mutable {
            if (opened.err) {
                reply_fs_error(opened.err, "Cannot hash");
                return command.complete();
            }
            hash_opened(vpath, std::move(*opened.file), opened.info, algo, start, end, std::move(respond),
                        std::move(command));
        });
}

// The HASH, once its file is open: on the pool, or after the digest an upload is computing. It
// holds `command` until it has replied.
void Session::hash_opened(const std::string& vpath, File file, const sys::FileInfo& info, fs::HashAlgo algo,
                          std::uint64_t start, std::uint64_t end, HashReply respond, CommandToken command) {
    const std::uint64_t size = info.size;
    if (start > size || (start == size && size > 0)) {
        reply(550, "Range starts past the end of the file.");
        return command.complete();
    }
    end = std::min(end, size);
    auto slot = ctx_.hash_jobs.try_start(login_.user);
    if (!slot) {
        reply(450, cat("Too many HASH requests of ", login_.user, " at once (max_hash_jobs_per_user = ",
                       ctx_.hash_jobs.per_user(), "); try again when one has finished."));
        return command.complete();
    }
    auto job = std::make_shared<HashJob>(HashJob{vpath, std::move(file), algo, start, end, start == 0 && end == size,
                                                 false, 0, std::move(slot), std::make_shared<std::atomic<bool>>(false),
                                                 std::move(respond), std::chrono::steady_clock::now()});
    hash_.cancel = job->cancel;
    hash_.command = std::move(command);
    // An upload of this file is still being digested: wait for its digest, not a second pass, but
    // not for longer than kPendingDigestWait (the upload may still be streaming, for hours).
    const auto pending = job->whole_file ? ctx_.pending_digests.find(info.id) : nullptr;
    if (!pending) return run_hash(std::move(job));
    // The limit's timer owns the job; the upload's callback only finds it while it waits.
    job->wait_limit = reactor_.add_timer(std::chrono::duration_cast<std::chrono::milliseconds>(kPendingDigestWait),
                                         lifetime_.guard([this, job] {
                                             job->wait_limit = 0;
                                             run_waited_hash(job);
                                         }));
    auto kept = lifetime_.guard([this, waiting = std::weak_ptr<HashJob>(job)] {
        if (auto job = waiting.lock()) run_waited_hash(job);
    });
    pending->when_kept(algo, [reactor = &reactor_, kept]() mutable { reactor->post(std::move(kept)); });
}

void Session::run_waited_hash(const std::shared_ptr<HashJob>& job) {
    if (hash_.cancel != job->cancel || std::exchange(job->running, true)) return;  // aborted, or already begun
    if (job->wait_limit) reactor_.cancel_timer(std::exchange(job->wait_limit, 0));
    run_hash(job);
}

void Session::run_hash(std::shared_ptr<HashJob> job) {
    on_pool(
        [job] {
            return job->whole_file ? fs::whole_file_digest(job->file, job->algo, job->cancel.get())
                                   : fs::hash_range(job->file, job->algo, job->start, job->end, job->cancel.get());
        },
        [this, job](Result<fs::RangeDigest> digest) {
            job->slot.reset();  // the user's next HASH may start
            if (hash_.cancel != job->cancel) return;  // aborted: ABOR already answered
            hash_.cancel.reset();
            if (!digest) {
                reply_fs_error(digest.error(), "Cannot hash");
            } else {
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - job->began).count();
                log::info(subject(), cat("hashed ", job->vpath, " [", digest->start, ", ", digest->end, ") in ", seconds, " s"));
                job->respond(digest->hex, digest->start, digest->end);
            }
            hash_.command.complete();
        },
        net::Lane::bulk);
}

void Session::abort_hash() {
    if (!hash_.cancel) return;
    hash_.cancel->store(true);  // the worker stops at its next block
    hash_.cancel.reset();  // the HASH's token stays with the caller: it replies, then completes it
}

}  // namespace ferry::proto
