#include "client/files.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "client/digest.hpp"
#include "client/errors.hpp"
#include "client/interrupt.hpp"
#include "client/pipeline.hpp"
#include "client/resume.hpp"
#include "client/transfer.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <iostream>

namespace ferry::client {
namespace {

std::string sizes(std::uint64_t done, std::uint64_t total) {
    return cat(format_size(done), " of ", format_size(total), " (", done, " of ", total, " bytes)");
}


Channel open_upload(Session& session, const std::string& local, const std::string& remote, std::uint64_t offset) {
    const std::string action = cat("put ", local);
    if (offset == 0) return session.start_transfer(cat("STOR ", remote), 0, action);
    try {
        return session.start_transfer(cat("STOR ", remote), offset, action);
    } catch (const ReplyError& refused) {
        std::cout << "REST + STOR refused (" << refused.what() << "); appending with APPE instead\n";
        return session.start_transfer(cat("APPE ", remote), 0, action);
    }
}

[[noreturn]] void report_cut_upload(Session& session, const TransferOutcome& outcome, const std::string& local,
                                    const std::string& remote, std::uint64_t stored, std::uint64_t size) {
    if (outcome.final && outcome.final->code == 552 && !outcome.connection_lost) {
        std::string free_now;
        if (const auto free = session.features().avbl ? session.available() : std::nullopt)
            free_now = cat("; ", format_size(*free), " (", *free, " bytes) free now");
        throw ClientError(cat("put ", local, ": quota exceeded: the server stopped the upload with ",
                              sizes(stored, size), " sent", free_now, " (", outcome.problem,
                              "). Free some space, then `put ", local, " ", remote, "` resumes it."));
    }
    if (outcome.interrupted)
        throw Interrupted(cat("put ", local, ": interrupted with ", sizes(stored, size), " sent (ABOR sent). ",
                              "The partial file stays on the server; run `put ", local, " ", remote,
                              "` again to resume."));
    throw ClientError(cat("put ", local, ": interrupted with ", sizes(stored, size), " sent: ", outcome.problem,
                          ". The partial file stays on the server; run `put ", local, " ", remote,
                          "` again to resume."));
}

std::uint64_t local_size_or_zero(const std::string& path) {
    const auto info = sys::path_info(path);
    return info && info->is_regular() ? info->size : 0;
}

// Blocks as large as the file, up to transfer_block: four 4 MiB blocks zeroed for a 2 KiB file
// cost more than the file's whole transfer (a tree of small files got 5x slower).
std::size_t receive_block_for(std::optional<std::uint64_t> size) {
    constexpr std::uint64_t smallest = 64 << 10;
    return static_cast<std::size_t>(std::clamp<std::uint64_t>(size.value_or(transfer_block), smallest, transfer_block));
}

bool is_directory(const std::string& path) {
    const auto info = sys::path_info(path);
    return info && info->is_directory();
}

FileOutcome finish_file(const Context& context, const Progress& progress, std::string_view verb,
                        std::optional<LocalDigest> proven) {
    if (!context.quiet) {
        std::cout << transfer_summary(verb, progress) << "\n";
        if (proven) std::cout << "verified " << digest_name(proven->algo) << " " << proven->hex << "\n";
    }
    return FileOutcome{.skipped = false, .moved = progress.moved(), .proven = std::move(proven)};
}

}  // namespace

void check_quota_room(Session& session, const std::string& what, std::uint64_t needed) {
    if (!session.features().avbl || needed == 0) return;
    const auto free = session.available();
    if (free && needed > *free)
        throw ClientError(cat(what, ": quota exceeded: it needs ", format_size(needed), " (", needed,
                              " bytes) but only ", format_size(*free), " (", *free, " bytes) is free"));
}

std::string base_name(const std::string& path) {
    std::string trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    const auto slash = trimmed.rfind('/');
    return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

FileOutcome put_file(Context& context, const std::string& local, const std::string& remote, const FileHint& hint) {
    Session& session = context.session;
    auto opened = sys::open_file(local, sys::OpenMode::read);
    if (!opened) throw ClientError(cat("put: can't read ", local, ": ", opened.error().message()));
    const File file = std::move(*opened);
    const auto info = sys::file_info(file);
    if (!info || !info->is_regular()) throw ClientError(cat("put: ", local, " is not a regular file"));
    const std::uint64_t size = info->size;

    const auto existing = hint.listed ? hint.remote_size : session.size(remote);
    Plan plan = Plan::overwrite;
    if (existing && *existing > 0 && *existing < size) {
        std::cout << remote << " is already on the server with " << sizes(*existing, size) << "\n";
        plan = decide_resume(context.verifier, context.options, {local, remote, *existing});
    }
    if (plan == Plan::skip) {
        if (!context.quiet) std::cout << "skipped: " << remote << " left as it was\n";
        return FileOutcome{.skipped = true, .moved = 0, .proven = std::nullopt};
    }
    const std::uint64_t offset = plan == Plan::resume ? *existing : 0;
    // `existing` bytes are replaced or kept, so they don't count.
    if (!context.quota_checked) check_quota_room(session, cat("put ", local), size - std::min(size, existing.value_or(0)));

    const InterruptScope catch_ctrl_c;  // Ctrl-C now stops the transfer with ABOR, not the program
    Channel data = open_upload(session, local, remote, offset);
    Progress progress(context.options.progress, cat("put ", base_name(local)), size, offset, context.batch, context.slot);
    // The whole local file is hashed while it is sent (a resumed upload is checked whole too).
    BackgroundDigest digest(context.verifier.planned_algo(), local, whole_file, 0);
    const TransferOutcome outcome = upload(session, std::move(data), file, offset, size, progress);
    if (!outcome.complete) report_cut_upload(session, outcome, local, remote, offset + outcome.moved, size);
    return finish_file(context, progress, offset ? "resumed, sent" : "sent",
                       context.verifier.verify_transfer(local, remote, digest.finish()));
}

FileOutcome get_file(Context& context, const std::string& remote, const std::string& local_arg, const FileHint& hint) {
    Session& session = context.session;
    const std::string local = is_directory(local_arg) ? local_arg + "/" + base_name(remote) : local_arg;
    const auto remote_size = hint.listed ? hint.remote_size : session.size(remote);
    const std::uint64_t partial = local_size_or_zero(local);
    Plan plan = Plan::overwrite;
    if (remote_size && partial > 0 && partial < *remote_size) {
        std::cout << local << " already holds " << sizes(partial, *remote_size) << "\n";
        plan = decide_resume(context.verifier, context.options, {local, remote, partial});
    }
    if (plan == Plan::skip) {
        if (!context.quiet) std::cout << "skipped: " << local << " left as it was\n";
        return FileOutcome{.skipped = true, .moved = 0, .proven = std::nullopt};
    }
    std::uint64_t offset = plan == Plan::resume ? partial : 0;

    // The local file is only touched once the server has agreed to send.
    const InterruptScope catch_ctrl_c;  // Ctrl-C now stops the transfer with ABOR, not the program
    const std::string action = cat("get ", remote);
    std::optional<Channel> data;
    try {
        data.emplace(session.start_transfer(cat("RETR ", remote), offset, action));
    } catch (const ReplyError& refused) {
        if (offset == 0) throw;
        std::cout << "can't resume (" << refused.what() << "); downloading from the start\n";
        offset = 0;
        data.emplace(session.start_transfer(cat("RETR ", remote), 0, action));
    }
    auto opened = sys::open_file(local, offset ? sys::OpenMode::write : sys::OpenMode::replace);
    if (!opened) {
        { Channel dropped = std::move(*data); }
        try { session.finish_transfer("get"); } catch (const ReplyError&) { /* expected: we hung up */ }
        throw ClientError(cat("get: can't write ", local, ": ", opened.error().message()));
    }
    const File file = std::move(*opened);
    Progress progress(context.options.progress, cat("get ", base_name(remote)), remote_size.value_or(0), offset,
                      context.batch, context.slot);
    // Hashed as the bytes arrive, after the part a resumed download already had.
    BackgroundDigest digest(context.verifier.planned_algo(), local, offset, receive_block_for(remote_size));
    const TransferOutcome outcome = download(session, std::move(*data), file, offset, progress, digest);
    if (!outcome.complete) {
        const std::uint64_t have = offset + outcome.moved;
        if (outcome.interrupted)
            throw Interrupted(cat("get ", remote, ": interrupted with ",
                                  remote_size ? sizes(have, *remote_size) : cat(have, " bytes"),
                                  " received (ABOR sent). The partial file stays at ", local, "; run `get ", remote,
                                  " ", local, "` again to resume."));
        throw ClientError(cat("get ", remote, ": interrupted with ",
                              remote_size ? sizes(have, *remote_size) : cat(have, " bytes"), " received: ",
                              outcome.problem, ". The partial file stays at ", local, "; run `get ", remote, " ",
                              local, "` again to resume."));
    }
    return finish_file(context, progress, offset ? "resumed, received" : "received",
                       context.verifier.verify_transfer(local, remote, digest.finish()));
}

}  // namespace ferry::client
