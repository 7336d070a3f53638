// The data connection and what flows over it: PASV/EPSV/PORT/EPRT, REST, RETR, STOR/APPE/STOU,
// LIST/NLST/MLSD, ABOR.
#include "base/log.hpp"
#include "base/size.hpp"
#include "fs/listing.hpp"
#include "fs/listing_stream.hpp"
#include "fs/vpath.hpp"
#include "proto/session.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <sys/stat.h>

namespace ferry::proto {
namespace {

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
    std::uint64_t value = 0;
    if (text.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const auto end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

// "h1,h2,h3,h4,p1,p2" (RFC 959 PORT).
std::optional<net::Address> parse_port_argument(std::string_view arg) {
    const auto parts = split(arg, ',');
    if (parts.size() != 6) return std::nullopt;
    unsigned n[6];
    for (int i = 0; i < 6; ++i) {
        auto value = parse_decimal(parts[i]);
        if (!value || *value > 255) return std::nullopt;
        n[i] = static_cast<unsigned>(*value);
    }
    return net::Address::from_ip(cat(n[0], '.', n[1], '.', n[2], '.', n[3]), static_cast<std::uint16_t>(n[4] * 256 + n[5]));
}

// "|1|1.2.3.4|6275|" or "|2|::1|6275|" (RFC 2428 EPRT); any delimiter in 33..126.
std::optional<net::Address> parse_eprt_argument(std::string_view arg, bool& unknown_protocol) {
    unknown_protocol = false;
    if (arg.size() < 7 || arg[0] < 33 || arg[0] > 126 || arg.back() != arg[0]) return std::nullopt;
    const auto parts = split(arg.substr(1, arg.size() - 2), arg[0]);
    if (parts.size() != 3) return std::nullopt;
    auto port = parse_decimal(parts[2]);
    if (!port || *port == 0 || *port > 65535) return std::nullopt;
    if (parts[0] != "1" && parts[0] != "2") {
        unknown_protocol = true;
        return std::nullopt;
    }
    auto address = net::Address::from_ip(parts[1], static_cast<std::uint16_t>(*port));
    if (!address || (parts[0] == "1") != (address->family() == AF_INET)) return std::nullopt;
    return address;
}

// "LIST -la dir" -> "dir": clients pass ls options; none of them changes what we send.
std::string strip_list_options(const std::string& arg) {
    std::string_view rest = arg;
    while (rest.size() > 1 && rest[0] == '-') {
        const auto space = rest.find(' ');
        rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
    return std::string(rest);
}

}  // namespace

// ---- setting up the data connection ----

bool Session::data_ready_or_refuse() {
    if (tls_required() && !protect_data_) {
        reply(521, "Data connections must be protected: use PBSZ 0 and PROT P.");
        return false;
    }
    if (data_.configured()) return true;
    reply(425, "Use PORT, PASV, EPRT or EPSV first.");
    return false;
}

void Session::cmd_pasv(const std::string&) {
    if (epsv_all_) return reply(503, "EPSV ALL is in force; use EPSV.");
    std::string advertised = ctx_.config.passive_address.empty() ? local_.ip() : ctx_.config.passive_address;
    auto ip = net::Address::from_ip(advertised, 0);
    if (!ip || ip->family() != AF_INET || !local_.is_v4()) return reply(425, "PASV needs IPv4; use EPSV.");
    auto port = data_.listen_passive(ctx_.config.passive_port_min, ctx_.config.passive_port_max);
    if (!port) {
        log::warn(cat(describe(), " PASV listen failed: ", std::strerror(port.error())));
        return reply(425, "Cannot open a passive port; try again.");
    }
    std::string numbers = advertised;
    for (char& c : numbers)
        if (c == '.') c = ',';
    reply(227, cat("Entering Passive Mode (", numbers, ',', *port / 256, ',', *port % 256, ")."));
}

void Session::cmd_epsv(const std::string& arg) {
    if (arg == "ALL" || arg == "all") {
        epsv_all_ = true;
        return reply(200, "EPSV ALL ok.");
    }
    const bool v4 = local_.is_v4();
    if (!arg.empty() && arg != (v4 ? "1" : "2")) return reply(522, v4 ? "Network protocol not supported, use (1)"
                                                                       : "Network protocol not supported, use (2)");
    auto port = data_.listen_passive(ctx_.config.passive_port_min, ctx_.config.passive_port_max);
    if (!port) {
        log::warn(cat(describe(), " EPSV listen failed: ", std::strerror(port.error())));
        return reply(425, "Cannot open a passive port; try again.");
    }
    reply(229, cat("Entering Extended Passive Mode (|||", *port, "|)"));
}

void Session::cmd_port(const std::string& arg) {
    if (epsv_all_) return reply(503, "EPSV ALL is in force; use EPSV.");
    auto target = parse_port_argument(arg);
    if (!target) return reply(501, "Syntax error in PORT parameters.");
    set_active_target(*target, "PORT", "PASV");
}

// PORT/EPRT: only to the client's own address and unprivileged ports (no FTP bounce, RFC 2577).
void Session::set_active_target(const net::Address& target, std::string_view verb, std::string_view passive_verb) {
    if (data_.set_active(target) != 0) {
        log::warn(cat(describe(), ' ', verb, " to ", target.to_string(), " refused (not the client's address)"));
        return reply(500, cat("Illegal ", verb, " command: only your own address, ports 1024 and up."));
    }
    reply(200, cat(verb, " command successful. Consider using ", passive_verb, "."));
}

void Session::cmd_eprt(const std::string& arg) {
    if (epsv_all_) return reply(503, "EPSV ALL is in force; use EPSV.");
    bool unknown_protocol = false;
    auto target = parse_eprt_argument(arg, unknown_protocol);
    if (unknown_protocol) return reply(522, "Network protocol not supported, use (1,2)");
    if (!target) return reply(501, "Syntax error in EPRT parameters.");
    set_active_target(*target, "EPRT", "EPSV");
}

void Session::cmd_rest(const std::string& arg) {
    auto offset = parse_decimal(arg);
    if (!offset || *offset > static_cast<std::uint64_t>(INT64_MAX)) return reply(501, "REST needs a byte offset.");
    rest_offset_ = *offset;
    reply(350, cat("Restart position accepted (", *offset, ")."));
}

// ---- transfers ----

void Session::cmd_retr(const std::string& arg) {
    std::uint64_t offset = std::exchange(rest_offset_, 0);
    std::uint64_t end = UINT64_MAX;
    if (range_) {  // RANG s e: bytes s..e inclusive (draft-bryan-ftp-range)
        offset = range_->first;
        end = range_->second == UINT64_MAX ? UINT64_MAX : range_->second + 1;
        range_.reset();
    }
    const std::string target = resolve(arg);
    if (target.empty()) return reply(550, "Failed to open file.");
    if (!data_ready_or_refuse()) return;
    auto file = home_->open_read(target);
    if (!file) return reply_fs_error(file.error(), "Failed to open file");
    struct stat st {};
    ::fstat(file->get(), &st);
    const auto state = ctx_.being_written.contains(st.st_dev, st.st_ino) ? net::Stream::FileState::being_written
                                                                          : net::Stream::FileState::settled;
    auto shared_file = std::make_shared<Fd>(std::move(*file));
    const bool ascii = ascii_;
    XferRecord record{0, peer_.ip(), 0, home_->path() + target, ascii, false, user_, true};
    run_transfer(cat("Opening ", ascii ? "ASCII" : "BINARY", " mode data connection for ", target, " (", st.st_size,
                     " bytes)."),
                 [shared_file, offset, end, ascii, state](std::unique_ptr<net::Stream> stream) {
                     return make_file_download(std::move(stream), std::move(*shared_file), offset, end, ascii, state);
                 },
                 std::move(record));
}

void Session::cmd_stor(const std::string& arg) {
    store(resolve(arg), rest_offset_ > 0 ? fs::WriteMode::at_offset : fs::WriteMode::truncate);
}

void Session::cmd_appe(const std::string& arg) { store(resolve(arg), fs::WriteMode::append); }

// RFC 1123: STOU picks the name. It is made from the argument, in the folder the argument names
// ("sub/x" -> "sub/x", "sub/x.1", ...), or "ferry.upload" in the current folder.
void Session::cmd_stou(const std::string& arg) {
    const std::string wanted = resolve(arg.empty() ? std::string("ferry.upload") : arg);
    if (wanted.empty() || wanted == "/") return reply(553, "STOU needs a file name (in a folder of your home).");
    const std::string folder(fs::vpath_parent(wanted));
    auto st = home_->stat(folder);
    if (!st) return reply_fs_error(st.error(), cat("Cannot store in ", folder));
    if (!S_ISDIR(st->st_mode)) return reply(553, cat("Cannot store in ", folder, ": not a folder."));
    for (unsigned i = 0; i < 100; ++i) {
        const std::string candidate = i == 0 ? wanted : cat(wanted, '.', i);
        if (!home_->stat(candidate)) return store(candidate, fs::WriteMode::create_new);
    }
    reply(553, cat("Could not find a unique name for ", wanted, " (tried ", wanted, ".1 to .99)."));
}

namespace {
// Uploads reserve quota chunk by chunk, so the user's sessions together never pass the limit.
class QuotaBudget final : public UploadBudget {
public:
    explicit QuotaBudget(std::shared_ptr<fs::UserQuota> quota) : quota_(std::move(quota)) {}
    std::uint64_t grant(std::uint64_t wanted) override { return quota_->reserve(wanted); }
    void settle(std::uint64_t granted, std::uint64_t used) override { quota_->settle(granted, used); }

private:
    std::shared_ptr<fs::UserQuota> quota_;
};
}  // namespace

void Session::store(const std::string& target, fs::WriteMode mode) {
    const std::uint64_t rest = std::exchange(rest_offset_, 0);
    if (range_) {
        range_.reset();
        return reply(504, "RANG applies to RETR and HASH only.");
    }
    if (target.empty() || target == "/") return reply(553, "Could not create file.");
    if (!data_ready_or_refuse()) return;
    // Every mode opens without O_TRUNC/O_APPEND: the cut below keeps the quota exact, and pwrite
    // at an offset would be ignored on an O_APPEND file.
    const bool unique = mode == fs::WriteMode::create_new;
    auto file = home_->open_write(target, unique ? mode : fs::WriteMode::at_offset);
    if (!file) return reply_fs_error(file.error(), "Could not create file");
    struct stat st {};
    if (::fstat(file->get(), &st) != 0) return reply_fs_error(errno, "Could not open file");
    const auto old_size = static_cast<std::uint64_t>(st.st_size);
    // STOR replaces the file from `rest` on (0 without REST); APPE continues at the end.
    const std::uint64_t offset = mode == fs::WriteMode::append ? old_size : rest;
    if (offset != old_size) {
        if (offset > old_size && offset - old_size > quota_->free()) return reply_quota_exceeded();
        if (::ftruncate(file->get(), static_cast<off_t>(offset)) != 0) return reply_fs_error(errno, "Could not write file");
        quota_->adjust(static_cast<std::int64_t>(offset) - static_cast<std::int64_t>(old_size));
    }
    if (quota_->free() == 0) return reply_quota_exceeded();
    auto shared_file = std::make_shared<Fd>(std::move(*file));
    auto writing = std::make_shared<fs::FilesBeingWritten::Mark>(ctx_.being_written.mark(st.st_dev, st.st_ino));
    const bool ascii = ascii_;
    XferRecord record{0, peer_.ip(), 0, home_->path() + target, ascii, true, user_, true};
    std::string preliminary = unique ? cat("FILE: ", fs::vpath_name(target)) : std::string("Ok to send data.");
    run_transfer(std::move(preliminary),
                 [shared_file, writing, offset, ascii, quota = quota_, drain = quota_drain()](std::unique_ptr<net::Stream> stream) {
                     return make_file_upload(std::move(stream), std::move(*shared_file), offset, ascii,
                                             std::make_unique<QuotaBudget>(quota), drain, std::move(*writing));
                 },
                 std::move(record));
}

QuotaDrain Session::quota_drain() const {
    return QuotaDrain{ctx_.config.quota_drain_limit, ctx_.config.data_timeout};
}

void Session::reply_quota_exceeded() {
    reply(552, cat("Quota exceeded: used ", quota_->used(), " of ", quota_->limit(),
                   " bytes. What arrived is kept; free some space, then resume with REST or APPE."));
}

void Session::cmd_list(const std::string& arg) { start_listing(ListKind::list, strip_list_options(arg)); }
void Session::cmd_nlst(const std::string& arg) { start_listing(ListKind::nlst, strip_list_options(arg)); }
void Session::cmd_mlsd(const std::string& arg) { start_listing(ListKind::mlsd, arg); }

// Listings are read on the worker pool a batch at a time (a folder may hold many thousands of
// names): the first batch before the 150, so that errors get their own reply, the rest while the
// data connection takes them.
void Session::start_listing(ListKind kind, const std::string& arg, bool over_control) {
    const std::string target = resolve(arg.empty() ? std::string(".") : arg);
    if (target.empty()) return reply(550, "No such file or directory.");
    if (!over_control && !data_ready_or_refuse()) return;
    busy_ = true;
    const fs::ListingFormat format = kind == ListKind::mlsd   ? fs::ListingFormat::facts
                                     : kind == ListKind::nlst ? fs::ListingFormat::names
                                                              : fs::ListingFormat::long_lines;
    struct Opened {
        int err = 0;
        std::string first;
        std::shared_ptr<fs::ListingStream> stream;
    };
    on_pool(
        // The job holds the home: a session that ends meanwhile cannot close it under the scan.
        [home = home_, target, format, owner = user_, typed = arg, over_control]() -> Opened {
            auto stream = fs::ListingStream::open(home, target, format, owner, typed);
            if (!stream) return Opened{stream.error(), {}, nullptr};
            auto shared = std::make_shared<fs::ListingStream>(std::move(*stream));
            std::string first;
            // STAT <path> answers over the control connection, all of it at once.
            do {
                auto piece = shared->next();
                if (!piece) return Opened{piece.error(), {}, nullptr};
                if (piece->empty()) break;
                first += *piece;
            } while (over_control);
            return Opened{0, std::move(first), std::move(shared)};
        },
        [this, kind, target, over_control](Opened opened) {
            if (opened.err == ENOTDIR && kind == ListKind::mlsd) {
                reply(501, "MLSD needs a directory.");
            } else if (opened.err) {
                reply_fs_error(opened.err, "Listing failed");
            } else if (over_control) {
                std::vector<std::string> lines{cat("Status of ", target, ":")};
                for (auto line : split(opened.first, '\n'))
                    if (!line.empty()) lines.emplace_back(line.substr(0, line.size() - (line.back() == '\r')));
                lines.push_back("End of status");
                reply_lines(213, lines);
            } else {
                return send_listing(target, std::move(opened.first), std::move(opened.stream));
            }
            command_finished();
        });
}

void Session::send_listing(const std::string& target, std::string first, std::shared_ptr<fs::ListingStream> listing) {
    XferRecord record{0, peer_.ip(), 0, home_->path() + target, true, false, user_, true, true};
    // Each next piece is made on the pool and handed back on this reactor.
    NextPiece next = [pool = &ctx_.pool, reactor = &reactor_, listing](Deliver deliver) {
        pool->submit([reactor, listing, deliver = std::move(deliver)] {
            auto piece = listing->next();
            const int err = piece ? 0 : piece.error();
            reactor->post([deliver, err, text = piece ? std::move(*piece) : std::string()]() mutable {
                deliver(err, std::move(text));
            });
        });
    };
    auto shared_first = std::make_shared<std::string>(std::move(first));
    run_transfer("Here comes the directory listing.",
                 [shared_first, next](std::unique_ptr<net::Stream> stream) {
                     return make_piecewise_download(std::move(stream), std::move(*shared_first), next);
                 },
                 std::move(record));
}

void Session::run_transfer(std::string preliminary, MakeTransfer make, XferRecord record) {
    busy_ = true;
    phase_ = DataPhase::opening;
    xfer_ = std::move(record);
    reply(150, preliminary);
    data_.open(ctx_.config.data_timeout, [this, make = std::move(make)](int err, std::unique_ptr<net::Stream> stream) {
        if (err) {
            log::info(cat(describe(), " data connection failed: ", std::strerror(err)));
            return data_connection_failed(425, "Failed to establish data connection.");
        }
        if (!protect_data_) return begin_transfer(make, std::move(stream));
        secure_data(std::move(stream), [this, make](std::unique_ptr<net::Stream> secured) {
            begin_transfer(make, std::move(secured));
        });
    });
}

// The transfer ends before it began: no data connection, or not a secure one.
void Session::data_connection_failed(int code, std::string_view text) {
    phase_ = DataPhase::none;
    data_.reset();
    reply(code, text);
    command_finished();
}

void Session::begin_transfer(const MakeTransfer& make, std::unique_ptr<net::Stream> stream) {
    transfer_ = make(std::move(stream));
    phase_ = DataPhase::running;
    transfer_started_ = progress_at_ = std::chrono::steady_clock::now();
    progress_bytes_ = 0;
    arm_timer();
    // abort_transfer() only defers the transfer's destruction, so a completion already queued can
    // still arrive after ABOR was answered: it must not send a second final reply.
    transfer_->start([this, started = transfer_.get()](const TransferOutcome& outcome) {
        if (transfer_.get() == started) on_transfer_done(outcome);
    });
}

void Session::on_transfer_done(const TransferOutcome& outcome) {
    // We are inside the transfer's own callback: it dies after this returns.
    std::shared_ptr<Transfer> finished(std::move(transfer_));
    reactor_.defer([finished] {});
    phase_ = DataPhase::none;
    data_.reset();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - transfer_started_).count();
    xfer_.seconds = seconds;
    xfer_.bytes = outcome.bytes;
    xfer_.complete = outcome.err == 0;
    if (!xfer_.listing) ctx_.xferlog.write(xfer_);
    const char* what = xfer_.listing ? " listing " : xfer_.incoming ? " upload " : " download ";
    log::info(cat(describe(), what, xfer_.path, ": ", outcome.bytes, " bytes in ", format_millis(seconds), " (",
                  format_rate(outcome.bytes, seconds), ")",
                  outcome.dropped ? cat(", ", outcome.dropped, " more bytes dropped over quota") : std::string(),
                  outcome.err ? cat(", failed: ", std::strerror(outcome.err)) : std::string()));
    if (outcome.err == 0) {
        reply(226, "Transfer complete.");
    } else if (outcome.local && outcome.err == EDQUOT) {
        reply_quota_exceeded();
    } else if (outcome.local && outcome.err == ENOSPC) {
        reply(452, "Insufficient storage space; transfer stopped.");
    } else if (outcome.local) {
        reply(451, cat("Local error: ", std::strerror(outcome.err), "; transfer stopped."));
    } else {
        reply(426, "Connection closed; transfer aborted.");
    }
    command_finished();
}

void Session::abort_transfer() {
    if (phase_ == DataPhase::none) return;
    if (transfer_) {
        xfer_.bytes = transfer_->bytes();
        xfer_.complete = false;
        xfer_.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - transfer_started_).count();
        if (!xfer_.listing) ctx_.xferlog.write(xfer_);
        log::info(cat(describe(), " transfer of ", xfer_.path, " aborted after ", xfer_.bytes, " bytes in ",
                      format_millis(xfer_.seconds), " (", format_rate(xfer_.bytes, xfer_.seconds), ")"));
    }
    std::shared_ptr<Transfer> aborted(std::move(transfer_));
    std::shared_ptr<net::Stream> handshaking(std::move(securing_));
    reactor_.defer([aborted, handshaking] {});  // we may be inside one of their callbacks
    phase_ = DataPhase::none;
    data_.reset();
}

void Session::cmd_abor(const std::string&) {
    if (hash_cancel_) {
        abort_hash();
        reply(451, "HASH aborted.");
        reply(226, "Abort successful.");
        return command_finished();
    }
    if (phase_ == DataPhase::none) {
        data_.reset();
        return reply(225, "No transfer to abort.");
    }
    abort_transfer();
    reply(426, "Transfer aborted.");
    reply(226, "Abort successful.");
    command_finished();
}

}  // namespace ferry::proto
