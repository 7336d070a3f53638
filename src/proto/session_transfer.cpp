// The data connection and what flows over it: PASV/EPSV/PORT/EPRT, REST, RETR, STOR/APPE/STOU,
// LIST/NLST/MLSD, ABOR.
#include "base/decimal.hpp"
#include "base/log.hpp"
#include "fs/listing.hpp"
#include "fs/listing_stream.hpp"
#include "fs/vpath.hpp"
#include "proto/session.hpp"

#include "base/metrics.hpp"
#include "proto/shared_quota_budget.hpp"
#include "sys/file.hpp"

#include <algorithm>

namespace ferry::proto {
namespace {

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
    if (!address || (parts[0] == "1") != (address->family() == net::Family::v4)) return std::nullopt;
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
    if (tls_required() && !tls_.protect_data) {
        reply(521, "Data connections must be protected: use PBSZ 0 and PROT P.");
        return false;
    }
    if (transfers().data().configured()) return true;
    reply(425, "Use PORT, PASV, EPRT or EPSV first.");
    return false;
}

void Session::cmd_pasv(const std::string&) {
    if (choices_.epsv_all) return reply(503, "EPSV ALL is in force; use EPSV.");
    std::string advertised = ctx_.config.passive_address.empty() ? line_.local.ip() : ctx_.config.passive_address;
    auto ip = net::Address::from_ip(advertised, 0);
    if (!ip || ip->family() != net::Family::v4 || !line_.local.is_v4()) return reply(425, "PASV needs IPv4; use EPSV.");
    auto port = transfers().data().listen_passive(ctx_.config.passive_port_min, ctx_.config.passive_port_max);
    if (!port) {
        log::warn(subject(), cat("PASV listen failed: ", port.error().message()));
        return reply(425, "Cannot open a passive port; try again.");
    }
    std::string numbers = advertised;
    for (char& c : numbers)
        if (c == '.') c = ',';
    reply(227, cat("Entering Passive Mode (", numbers, ',', *port / 256, ',', *port % 256, ")."));
}

void Session::cmd_epsv(const std::string& arg) {
    if (arg == "ALL" || arg == "all") {
        choices_.epsv_all = true;
        return reply(200, "EPSV ALL ok.");
    }
    const bool v4 = line_.local.is_v4();
    if (!arg.empty() && arg != (v4 ? "1" : "2")) return reply(522, v4 ? "Network protocol not supported, use (1)"
                                                                       : "Network protocol not supported, use (2)");
    auto port = transfers().data().listen_passive(ctx_.config.passive_port_min, ctx_.config.passive_port_max);
    if (!port) {
        log::warn(subject(), cat("EPSV listen failed: ", port.error().message()));
        return reply(425, "Cannot open a passive port; try again.");
    }
    reply(229, cat("Entering Extended Passive Mode (|||", *port, "|)"));
}

void Session::cmd_port(const std::string& arg) {
    if (choices_.epsv_all) return reply(503, "EPSV ALL is in force; use EPSV.");
    auto target = parse_port_argument(arg);
    if (!target) return reply(501, "Syntax error in PORT parameters.");
    set_active_target(*target, "PORT", "PASV");
}

// PORT/EPRT: only to the client's own address and unprivileged ports (no FTP bounce, RFC 2577).
void Session::set_active_target(const net::Address& target, std::string_view verb, std::string_view passive_verb) {
    if (transfers().data().set_active(target)) {
        log::warn(subject(), cat(verb, " to ", target.to_string(), " refused (not the client's address)"));
        return reply(500, cat("Illegal ", verb, " command: only your own address, ports 1024 and up."));
    }
    reply(200, cat(verb, " command successful. Consider using ", passive_verb, "."));
}

void Session::cmd_eprt(const std::string& arg) {
    if (choices_.epsv_all) return reply(503, "EPSV ALL is in force; use EPSV.");
    bool unknown_protocol = false;
    auto target = parse_eprt_argument(arg, unknown_protocol);
    if (unknown_protocol) return reply(522, "Network protocol not supported, use (1,2)");
    if (!target) return reply(501, "Syntax error in EPRT parameters.");
    set_active_target(*target, "EPRT", "EPSV");
}

void Session::cmd_rest(const std::string& arg) {
    auto offset = parse_decimal(arg);
    if (!offset || *offset > static_cast<std::uint64_t>(INT64_MAX)) return reply(501, "REST needs a byte offset.");
    transfers().set_restart(*offset);
    reply(350, cat("Restart position accepted (", *offset, ")."));
}

// ---- transfers ----

XferRecord Session::record_of(XferKind kind, const std::string& vpath) const {
    return XferRecord{.kind = kind, .type = choices_.type, .remote_ip = line_.peer.ip(), .path = place(vpath).real_path(), .user = login_.user};
}

void Session::cmd_retr(const std::string& arg) {
    std::uint64_t offset = transfers().take_restart();
    std::uint64_t end = UINT64_MAX;
    if (const auto range = transfers().take_range()) {  // RANG s e: bytes s..e inclusive (draft-bryan-ftp-range)
        offset = range->start;
        end = range->end == UINT64_MAX ? UINT64_MAX : range->end + 1;
    }
    const std::string target = resolve(arg);
    if (target.empty()) return reply(550, "Failed to open file.");
    if (!data_ready_or_refuse()) return;
    auto slot = take_transfer_slot();
    if (!slot) return;
    on_io(Need::to(auth::Permission::download, target), [place = place(target)] { return open_to_read(place); },
        [this, target, offset, end, slot = std::move(*slot), command = begin_command()](OpenedToRead opened) mutable {
            command.hold(std::move(slot));
            if (opened.err) {
                reply_fs_error(opened.err, "Failed to open file");
                return command.complete();
            }
            const auto state = ctx_.being_written.contains(opened.info.id) ? net::Stream::FileState::being_written
                                                                            : net::Stream::FileState::settled;
            const DataType type = choices_.type;
            const std::uint64_t size = opened.info.size;
            hook_transfer_ = HookTransfer{target, offset, nullptr};
            run_transfer(cat("Opening ", type == DataType::ascii ? "ASCII" : "BINARY", " mode data connection for ",
                             target, " (", size, " bytes)."),
                         [file = std::move(opened.file), offset, end, size, type, state, storage = transfer_storage(),
                          pacer = std::make_shared<std::unique_ptr<Pacer>>(pacer_for(UserRates::Direction::download))](
                             std::unique_ptr<net::Stream> stream) {
                             return make_file_download(std::move(stream), std::move(*file), offset, std::min(end, size),
                                                       type, storage, state, std::move(*pacer));
                         },
                         record_of(XferKind::download, target), std::move(command));
        });
}

// One open and the fstat it makes to check the file: the transfer is told the size.
Session::OpenedToRead Session::open_to_read(const Place& place) {
    OpenedToRead opened;
    auto home = place.open();
    if (!home) return {home.error()};
    auto file = (*home)->open_read(place.path, &opened.info);
    if (!file) return {file.error()};
    opened.file = std::make_shared<File>(std::move(*file));
    return opened;
}

// A transfer's file-system work that may wait for storage: on the I/O pool, then back on this reactor.
OffReactor Session::transfer_storage() {
    return [pool = &ctx_.io_pool, reactor = &reactor_](std::function<void()> work, std::function<void()> then) {
        pool->submit([reactor, work = std::move(work), then = std::move(then)]() mutable {
            work();
            reactor->post(std::move(then));
        });
    };
}

void Session::cmd_stor(const std::string& arg) {
    // After REST n the first n bytes are kept and the rest replaced (store() takes the offset).
    store(resolve(arg), fs::WriteMode::truncate);
}

void Session::cmd_appe(const std::string& arg) { store(resolve(arg), fs::WriteMode::append); }

// RFC 1123: STOU picks the name. It is made from the argument, in the folder the argument names
// ("sub/x" -> "sub/x", "sub/x.1", ...), or "ferry.upload" in the current folder.
void Session::cmd_stou(const std::string& arg) {
    const std::string wanted = resolve(arg.empty() ? std::string("ferry.upload") : arg);
    if (wanted.empty() || wanted == "/") return reply(553, "STOU needs a file name (in a folder of your home).");
    const std::string folder(fs::vpath_parent(wanted));
    on_io(Need::to(auth::Permission::upload, wanted),
          [place = place(folder)] { return place.stat(); },  // its own reply, before the data connection's
          [this, wanted, folder, command = begin_command()](Result<fs::FileInfo> info) mutable {
              if (!info) {
                  reply_fs_error(info.error(), cat("Cannot store in ", folder));
              } else if (!info->is_directory()) {
                  reply(553, cat("Cannot store in ", folder, ": not a folder."));
              } else {
                  return store(wanted, fs::WriteMode::create_new, std::move(command));
              }
              command.complete();
          });
}

namespace {
// Uploads reserve quota chunk by chunk, so the user's sessions together never pass the limit.
class QuotaBudget final : public UploadBudget {
public:
    explicit QuotaBudget(std::shared_ptr<fs::UserQuota> quota) : quota_(std::move(quota)) {}
    void grant(std::uint64_t wanted, Granted granted) override { granted({}, quota_->reserve(wanted)); }
    void settle(std::uint64_t granted, std::uint64_t used) override { quota_->settle(granted, used); }

private:
    std::shared_ptr<fs::UserQuota> quota_;
};

// The account's upload rate paces the quota's grants: a chunk is asked for only when the bucket
// allows it, so the client's bytes wait in the socket (TCP slows the client down) meanwhile.
class PacedBudget final : public UploadBudget {
public:
    PacedBudget(std::unique_ptr<UploadBudget> inner, std::unique_ptr<Pacer> pacer)
        : inner_(std::move(inner)), pacer_(std::move(pacer)) {}
    void grant(std::uint64_t wanted, Granted granted) override {
        pacer_->next(wanted, [this, granted = std::move(granted)](std::uint64_t allowed) { inner_->grant(allowed, granted); });
    }
    void settle(std::uint64_t granted, std::uint64_t used) override {
        inner_->settle(granted, used);
        if (used < granted) pacer_->unused(granted - used);
    }

private:
    std::unique_ptr<UploadBudget> inner_;
    std::unique_ptr<Pacer> pacer_;
};
}  // namespace

std::unique_ptr<Pacer> Session::pacer_for(UserRates::Direction direction) {
    const auto policy = this->policy();  // held: another thread may replace the account's policy
    const auth::Limits& limits = policy->limits();
    const auto rate = direction == UserRates::Direction::upload ? limits.upload_rate : limits.download_rate;
    auto bucket = ctx_.rates.bucket(login_.user, direction, rate.value_or(0));
    return bucket ? std::make_unique<Pacer>(reactor_, std::move(bucket)) : nullptr;
}

std::unique_ptr<UploadBudget> Session::upload_budget(std::shared_ptr<fs::UserQuota> account_or_folder) {
    auto quota = account_or_folder->shared()
                     ? make_shared_quota_budget(account_or_folder, reactor_, ctx_.pool, ctx_.config.quota_wait)
                     : std::make_unique<QuotaBudget>(std::move(account_or_folder));
    auto pacer = pacer_for(UserRates::Direction::upload);
    if (!pacer) return quota;
    return std::make_unique<PacedBudget>(std::move(quota), std::move(pacer));
}

// The file-system half of STOR/APPE/STOU, on the I/O pool: what store() hands back.
struct Session::Opened {
    Error err;
    std::string what = "Could not create file";  // the reply's words for err
    bool over_quota = false;                      // 552 instead
    std::optional<auth::Permission> denied{};     // the policy refused: upload (new) or overwrite (existing)
    Stored stored{};
    File reader{};  // for the upload's digests, when they are computed
};

namespace {

// STOU: the name itself, then name.1 ... name.99, each created only if it does not exist yet.
Result<File> create_unique(const fs::Home& home, std::string& target, sys::FileInfo& info) {
    const std::string wanted = target;
    for (unsigned i = 0; i < 100; ++i) {
        target = i == 0 ? wanted : cat(wanted, '.', i);
        auto file = home.open_write(target, fs::WriteMode::create_new, &info);
        if (file || file.error() != Errc::exists) return file;
    }
    return Error(Errc::exists);
}

// STOR/APPE of an existing name needs `overwrite`, of a new one `upload`; the policy granted at
// least one (store()'s Need). Without overwrite the file is created as new, so a name made meanwhile
// is refused, never replaced; without upload a missing name is refused, not created.
// `target` is the path the policy judges; `inner` the same file inside `home` (a shared folder's
// path differs from the account's view of it).
Result<File> open_as_allowed(const fs::Home& home, const std::string& inner, const auth::EffectivePolicy& policy,
                             const std::string& target, sys::FileInfo& info, std::optional<auth::Permission>& denied) {
    if (!policy.allows(auth::Permission::overwrite, target)) {
        auto file = home.open_write(inner, fs::WriteMode::create_new, &info);
        if (!file && file.error() == Errc::exists) denied = auth::Permission::overwrite;
        return file;
    }
    if (!policy.allows(auth::Permission::upload, target)) {
        auto existing = home.lstat(inner);
        if (!existing && existing.error() == Errc::not_found) {
            denied = auth::Permission::upload;
            return existing.error();
        }
    }
    return home.open_write(inner, fs::WriteMode::at_offset, &info);
}

}  // namespace

void Session::store(const std::string& target, fs::WriteMode mode, CommandToken command) {
    const std::uint64_t rest = transfers().take_restart();
    if (transfers().take_range()) return reply(504, "RANG applies to RETR and HASH only.");
    if (target.empty() || target == "/") return reply(553, "Could not create file.");
    if (too_deep(target, "Could not create file")) return;
    Place where = place(target);
    if (where.is_mount_point()) return reply(553, "Could not create file: a shared folder is mounted there.");
    if (!data_ready_or_refuse()) return;
    auto slot = take_transfer_slot();
    if (!slot) return;
    if (!command.pending()) command = begin_command();
    command.hold(std::move(*slot));
    if (!hook_wanted(HookKind::pre_upload)) return store_opening(target, mode, rest, std::move(command));
    // The policy first (the hooks are not asked about what it refuses), then the hooks, before the
    // file is opened: a hook that says no leaves no trace on disk.
    if (!permitted(Need::one_of(auth::Permissions::of({auth::Permission::upload, auth::Permission::overwrite}), target)))
        return command.complete();
    ask_pre_upload(target, rest, [this, target, mode, rest](CommandToken command) {
        store_opening(target, mode, rest, std::move(command));
    }, std::move(command));
}

void Session::store_opening(const std::string& target, fs::WriteMode mode, std::uint64_t rest, CommandToken command) {
    const Place where = place(target);
    const bool digests = choices_.type == DataType::binary && !ctx_.config.upload_digests.empty();
    on_io(Need::one_of(auth::Permissions::of({auth::Permission::upload, auth::Permission::overwrite}), target),
          [place = where, policy = policy(), pending = &ctx_.pending_digests, target, mode, rest, digests] {
              return open_for_upload(place, *policy, *pending, target, mode, rest, digests);
          },
          [this, target, quota = where.quota, command = std::move(command)](Opened opened) mutable {
              upload_quota_ = std::move(quota);
              if (opened.denied) {
                  refuse_permission(auth::Permissions::of({*opened.denied}), target);
              } else if (opened.over_quota) {
                  reply_quota_exceeded();
              } else if (opened.err) {
                  reply_fs_error(opened.err, opened.what);
              } else {
                  return store_from(std::move(opened.stored), std::move(opened.reader), std::move(command));
              }
              command.complete();
          });
}

// Every mode opens without O_TRUNC/O_APPEND: the cut below keeps the quota exact, and pwrite at an
// offset would be ignored on an O_APPEND file. STOR replaces the file from `rest` on (0 without
// REST); APPE continues at the end; STOU creates a name that is not taken.
Session::Opened Session::open_for_upload(const Place& place, const auth::EffectivePolicy& policy, PendingDigests& pending,
                                         const std::string& target, fs::WriteMode mode, std::uint64_t rest, bool digests) {
    const bool unique = mode == fs::WriteMode::create_new;
    auto opened_home = place.open();
    if (!opened_home) return {opened_home.error()};
    const fs::Home& home = **opened_home;
    fs::UserQuota& quota = *place.quota;
    std::string inner = place.path;
    sys::FileInfo info;
    std::optional<auth::Permission> denied;
    auto file = unique ? create_unique(home, inner, info) : open_as_allowed(home, inner, policy, target, info, denied);
    if (denied) return {{}, {}, false, denied};
    if (!file) return {file.error()};
    const std::uint64_t old_size = info.size;
    // An earlier upload's digest may still be catching up (in idle time): it would read these writes.
    pending.abandon(info.id);
    const std::uint64_t offset = mode == fs::WriteMode::append ? old_size : rest;
    if (offset != old_size) {
        // A REST past the end would grow the file without an upload's reservation (for a shared
        // quota, whose figures may be a little stale, a rare refusal too many).
        if (offset > old_size && offset - old_size > quota.free()) return {{}, {}, true};
        // Cutting a large file frees its page cache there and then (95 ms for a cached 2 GiB file).
        if (const Status err = sys::truncate(*file, offset)) return {err, "Could not write file"};
        quota.adjust(static_cast<std::int64_t>(offset) - static_cast<std::int64_t>(old_size));
    }
    // A shared quota's figures may be stale (another node may have freed space): its first grant decides.
    if (!quota.shared() && quota.free() == 0) return {{}, {}, true};
    fs::forget_digests(*file);  // what was kept describes the bytes about to be replaced
    Opened opened{{}, {}, false, {}, Stored{place.outer(inner), unique, std::make_shared<File>(std::move(*file)), info.id, offset}, {}};
    if (digests) {  // its own handle for reading back (the upload's is write-only), to the very same file
        sys::FileInfo same;
        auto reader = home.open_read(inner, &same);
        if (reader && same.id == info.id) opened.reader = std::move(*reader);
    }
    return opened;
}

// The rest of STOR/APPE/STOU once the file is open and as long as the upload's offset.
void Session::store_from(Stored stored, File reader, CommandToken command) {
    auto digest = reader ? start_upload_digest(std::move(reader), stored.id, stored.offset) : nullptr;
    hook_transfer_ = HookTransfer{stored.target, stored.offset, digest};
    auto writing = std::make_shared<fs::FilesBeingWritten::Mark>(ctx_.being_written.mark(stored.id));
    const DataType type = choices_.type;
    std::string preliminary = stored.unique ? cat("FILE: ", fs::vpath_name(stored.target)) : std::string("Ok to send data.");
    auto budget = std::make_shared<std::unique_ptr<UploadBudget>>(upload_budget(upload_quota_));
    run_transfer(std::move(preliminary),
                 [file = stored.file, writing, offset = stored.offset, type, budget, drain = quota_drain(),
                  storage = transfer_storage(), digest](std::unique_ptr<net::Stream> stream) {
                     return make_file_upload(std::move(stream), std::move(*file), offset, type, std::move(*budget),
                                             drain, storage, std::move(*writing), digest);
                 },
                 record_of(XferKind::upload, stored.target), std::move(command));
}

// The digests a binary upload computes while it streams (upload_digests), from the start of the
// file: after REST or APPE the bytes already there are read first. Registered for the HASH of the
// file that may come before they are done. `reader` reads the uploaded file back.
std::shared_ptr<UploadDigest> Session::start_upload_digest(File reader, sys::FileId id, std::uint64_t offset) {
    auto digest = UploadDigest::start(std::move(reader), ctx_.config.upload_digests,
                                      [pool = &ctx_.pool](auto job, net::Lane lane) { pool->submit(std::move(job), lane); });
    ctx_.pending_digests.add(id, digest);
    digest->when_done([pending = &ctx_.pending_digests, id, raw = digest.get()] { pending->remove(id, raw); });
    if (offset > 0) digest->written(offset);
    return digest;
}

QuotaDrain Session::quota_drain() const {
    return QuotaDrain{ctx_.config.quota_drain_limit, ctx_.config.data_timeout};
}

void Session::reply_quota_exceeded() {
    metrics::registry().quota_refusals.add();
    const fs::UserQuota& quota = upload_quota_ ? *upload_quota_ : *login_.quota;
    reply(552, cat("Quota exceeded: used ", quota.used(), " of ", quota.limit(),
                   " bytes. What arrived is kept; free some space, then resume with REST or APPE."));
}

void Session::cmd_list(const std::string& arg) { start_listing(ListKind::list, strip_list_options(arg)); }
void Session::cmd_nlst(const std::string& arg) { start_listing(ListKind::nlst, strip_list_options(arg)); }
void Session::cmd_mlsd(const std::string& arg) { start_listing(ListKind::mlsd, arg); }

// Listings are read on the I/O pool a batch at a time (a folder may hold many thousands of
// names): the first batch before the 150, so that errors get their own reply, the rest while the
// data connection takes them.
void Session::start_listing(ListKind kind, const std::string& arg, ListTo to) {
    const bool over_control = to == ListTo::control_connection;
    const std::string target = resolve(arg.empty() ? std::string(".") : arg);
    if (target.empty()) return reply(550, "No such file or directory.");
    if (!over_control && !data_ready_or_refuse()) return;
    const fs::ListingFormat format = kind == ListKind::mlsd   ? fs::ListingFormat::facts
                                     : kind == ListKind::nlst ? fs::ListingFormat::names
                                                              : fs::ListingFormat::long_lines;
    struct Opened {
        Error err;
        std::string first;
        std::shared_ptr<fs::ListingStream> stream;
    };
    on_io(
        Need::to(auth::Permission::list, target),
        // The job holds the home: a session that ends meanwhile cannot close it under the scan.
        [place = place(target), mounted = mounted_entries(target), format, owner = login_.user, typed = arg,
         over_control, facts = choices_.mlst_facts]() -> Opened {
            auto home = place.open();
            if (!home) return Opened{home.error(), {}, nullptr};
            auto stream = fs::ListingStream::open(std::move(*home), place.path, format, owner, typed, mounted, facts);
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
            return Opened{{}, std::move(first), std::move(shared)};
        },
        [this, kind, target, over_control, command = begin_command()](Opened opened) mutable {
            if (opened.err == Errc::not_directory && kind == ListKind::mlsd) {
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
                return send_listing(target, std::move(opened.first), std::move(opened.stream), std::move(command));
            }
            command.complete();
        });
}

// The shared folders mounted into a folder of the home, as entries of its listing: each the
// folder's own top (its mode and time), under the mount point's name. Runs on the I/O pool.
fs::MountedEntries Session::mounted_entries(const std::string& target) const {
    const auto policy = this->policy();
    if (policy->mounts().empty() || policy->mount_of(target)) return {};  // none, or inside one (they never nest)
    return [mounts = policy->mounts(), folders = login_.folders](const std::string& listed) {
        std::vector<fs::DirEntry> entries;
        for (const auto& mount : mounts) {
            if (fs::vpath_parent(mount.at) != listed) continue;
            auto home = folders->open(mount.folder);
            auto info = home ? (*home)->stat("/") : Result<fs::FileInfo>(home.error());
            if (!info) {
                log::error(cat("shared folder ", mount.folder, " at ", mount.at, ": not listed: ", info.error().message()));
                continue;
            }
            entries.push_back(fs::DirEntry{std::string(fs::vpath_name(mount.at)), *info});
        }
        return entries;
    };
}

void Session::send_listing(const std::string& target, std::string first, std::shared_ptr<fs::ListingStream> listing,
                           CommandToken command) {
    // Each next piece is read on the I/O pool and handed back on this reactor.
    NextPiece next = [pool = &ctx_.io_pool, reactor = &reactor_, listing](Deliver deliver) {
        pool->submit([reactor, listing, deliver = std::move(deliver)] {
            auto piece = listing->next();
            const Error err = piece ? Error() : piece.error();
            reactor->post([deliver, err, text = piece ? std::move(*piece) : std::string()]() mutable {
                deliver(err, std::move(text));
            });
        });
    };
    auto shared_first = std::make_shared<std::string>(std::move(first));
    XferRecord record = record_of(XferKind::listing, target);
    record.type = DataType::ascii;
    run_transfer("Here comes the directory listing.",
                 [shared_first, next](std::unique_ptr<net::Stream> stream) {
                     return make_piecewise_download(std::move(stream), std::move(*shared_first), next);
                 },
                 std::move(record), std::move(command));
}

// The account's limit of uploads and downloads at once, over all of its sessions (listings are
// free), taken before the file is opened: a refused STOR leaves no empty file behind.
std::optional<Session::TransferSlot> Session::take_transfer_slot() {
    const auto policy = this->policy();
    const auto limit = policy->limits().transfers;
    if (!limit) return TransferSlot{};
    auto slot = ctx_.transfers.try_start(login_.user, *limit);
    if (slot) return std::make_shared<UserJobs::Slot>(std::move(*slot));
    log::info(subject(), cat("\"", line_.current_verb, "\" refused: ", *limit, " transfers of ", login_.user,
                  " run already (the account's limit)"));
    reply(450, cat("Too many transfers of ", login_.user, " at once (at most ", *limit, "); try again when one has finished."));
    return std::nullopt;
}

void Session::run_transfer(std::string preliminary, TransferControl::MakeTransfer make, XferRecord record,
                           CommandToken command) {
    transfers().start(std::move(preliminary), std::move(make), std::move(record), data_protection(), std::move(command));
    arm_timer();  // the data timeout is shorter than the idle one
}

void Session::cmd_abor(const std::string&) {
    if (hash_.running()) {
        abort_hash();
        reply(451, "HASH aborted.");
        reply(226, "Abort successful.");
        return hash_.command.complete();
    }
    transfers().abort_command();
}

}  // namespace ferry::proto
