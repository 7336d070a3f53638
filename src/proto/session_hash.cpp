// Integrity: HASH with OPTS HASH and RANG (draft-bryan-ftpext-hash-02, draft-bryan-ftp-range), and
// the legacy XMD5/XSHA1/XSHA256/XSHA512/XCRC. Digests run on the worker pool; meanwhile the
// session answers NOOP, STAT and ABOR, and ABOR or a disconnect cancels the hash.
#include "base/decimal.hpp"
#include "base/log.hpp"
#include "proto/session.hpp"

namespace ferry::proto {

void Session::opts_hash(const std::string& value) {
    if (!value.empty()) {
        auto algo = fs::parse_hash_algo(value);
        if (!algo) return reply(501, "Unknown hash algorithm; see FEAT.");
        hash_algo_ = *algo;
    }
    reply(200, fs::hash_algo_name(hash_algo_));
}

void Session::cmd_rang(const std::string& arg) {
    const auto space = arg.find(' ');
    auto start = parse_decimal(std::string_view(arg).substr(0, space));
    auto end = space == std::string::npos ? std::nullopt : parse_decimal(std::string_view(arg).substr(space + 1));
    if (!start || !end) return reply(501, "Usage: RANG <start> <end>");
    if (*start == 1 && *end == 0) {  // the draft's way to reset
        transfers_.take_range();
        return reply(350, "Range reset.");
    }
    if (*start > *end) {
        transfers_.take_range();
        return reply(501, "RANG start is after its end; range reset.");
    }
    transfers_.set_range({*start, *end});
    reply(350, cat("Restarting at ", *start, ". Ending at ", *end, "."));
}

void Session::cmd_hash(const std::string& arg) {
    std::uint64_t start = 0, end = UINT64_MAX;
    if (const auto range = transfers_.take_range()) {  // RANG's end is inclusive; hash_file's is exclusive
        start = range->start;
        end = range->end == UINT64_MAX ? UINT64_MAX : range->end + 1;
    }
    const fs::HashAlgo algo = hash_algo_;
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

void Session::start_hash(const std::string& vpath, fs::HashAlgo algo, std::uint64_t start, std::uint64_t end,
                         std::function<void(const std::string&, std::uint64_t, std::uint64_t)> respond) {
    if (vpath.empty()) return reply(550, "No such file.");
    auto file = home_->open_read(vpath);
    if (!file) return reply_fs_error(file.error(), "Cannot hash");
    const auto info = sys::file_info(*file);
    if (!info) return reply_fs_error(info.error(), "Cannot hash");
    const std::uint64_t size = info->size;
    if (start > size || (start == size && size > 0)) return reply(550, "Range starts past the end of the file.");
    end = std::min(end, size);
    auto slot = ctx_.hash_jobs.try_start(user_);
    if (!slot)
        return reply(450, cat("Too many HASH requests of ", user_, " at once (max_hash_jobs_per_user = ",
                              ctx_.hash_jobs.per_user(), "); try again when one has finished."));

    auto cancel = std::make_shared<std::atomic<bool>>(false);
    hash_cancel_ = cancel;
    hash_command_ = begin_command();
    const auto began = std::chrono::steady_clock::now();
    const bool whole_file = start == 0 && end == size;  // only whole-file digests are kept with the file
    on_pool(
        [file = std::make_shared<File>(std::move(*file)), slot = std::make_shared<HashJobs::Slot>(std::move(*slot)),
         algo, start, end, whole_file, cancel] {
            return whole_file ? fs::whole_file_digest(*file, algo, cancel.get())
                              : fs::hash_file(*file, algo, start, end, cancel.get());
        },
        [this, cancel, respond = std::move(respond), start, end, began, vpath](Result<std::string> digest) {
            if (hash_cancel_ != cancel) return;  // aborted: ABOR already answered
            hash_cancel_.reset();
            if (!digest) {
                reply_fs_error(digest.error(), "Cannot hash");
            } else {
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
                log::info(cat(describe(), " hashed ", vpath, " [", start, ", ", end, ") in ", seconds, " s"));
                respond(*digest, start, end);
            }
            hash_command_.complete();
        },
        net::Lane::bulk);
}

void Session::abort_hash() {
    if (!hash_cancel_) return;
    hash_cancel_->store(true);  // the worker stops at its next block
    hash_cancel_.reset();  // the HASH's token stays with the caller: it replies, then completes it
}

}  // namespace ferry::proto
