#include "client/transfer.hpp"

#include "base/log.hpp"
#include "base/size.hpp"
#include "client/errors.hpp"
#include "client/interrupt.hpp"
#include "client/pipeline.hpp"
#include "sys/file.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace ferry::client {
namespace {

void write_to_file(const File& file, std::span<const char> bytes, std::uint64_t offset) {
    std::uint64_t written = 0;
    if (const Status err = sys::write_all_at(file, bytes, offset, written))
        throw ClientError(cat("writing the local file: ", err.message()));
}

// After the data connection is closed: the server's verdict. Network failure here means the
// control connection is gone too.
void read_closing_reply(Session& session, std::string_view action, TransferOutcome& outcome) {
    try {
        outcome.final = session.finish_transfer(action);
        if (outcome.problem.empty()) outcome.complete = true;
    } catch (const ReplyError& refused) {
        outcome.problem = refused.what();
        // The reply itself is kept for callers that look at the code (552 = quota).
        outcome.final = Reply{refused.code(), {}};
    } catch (const NetError& lost) {
        outcome.connection_lost = true;
        if (outcome.problem.empty()) outcome.problem = lost.what();
        else outcome.problem += cat("; ", lost.what());
    }
}

// Ctrl-C: the data connection is dropped, then ABOR tells the server why and its replies are read.
void abort_after_interrupt(Session& session, Channel data, TransferOutcome& outcome) {
    outcome.interrupted = true;
    { Channel closing = std::move(data); }
    try {
        session.abort_transfer();
    } catch (const NetError& lost) {
        outcome.connection_lost = true;
        outcome.problem += cat("; ", lost.what());
    }
}

struct Filled {
    std::size_t used = 0;
    bool end = false;  // the server ended the stream
};

// Fills `block` from the data connection with several reads, so the file gets few large writes;
// a slow stream hands over what it has after a short while, for the progress display.
Filled fill_block(Channel& data, std::vector<char>& block) {
    constexpr auto patience = std::chrono::milliseconds(50);
    const auto started = std::chrono::steady_clock::now();
    Filled filled;
    for (std::size_t round = 0; round < block.size() && filled.used < block.size(); ++round) {
        const std::size_t got = data.read_some(std::span<char>(block.data() + filled.used, block.size() - filled.used));
        if (got == 0) {
            filled.end = true;
            break;
        }
        filled.used += got;
        if (std::chrono::steady_clock::now() - started >= patience) break;
    }
    return filled;
}

// Runs `pump`, which moves the data over `data` and advances `position`; then closes `data` and
// reads the server's verdict. Ctrl-C during the pump aborts the transfer (ABOR) instead.
TransferOutcome run_transfer(Session& session, Channel& data, std::uint64_t offset, std::uint64_t& position,
                             Progress& progress, std::string_view action, const std::function<void()>& pump) {
    TransferOutcome outcome;
    try {
        pump();
    } catch (const Interrupted& stop) {
        outcome.problem = stop.what();
        outcome.moved = position - offset;
        progress.finish();
        abort_after_interrupt(session, std::move(data), outcome);
        return outcome;
    } catch (const ClientError& failed) {
        outcome.problem = failed.what();
    }
    outcome.moved = position - offset;
    { Channel closing = std::move(data); }  // close before waiting for the server's verdict
    progress.finish();
    read_closing_reply(session, action, outcome);
    return outcome;
}

}  // namespace

TransferOutcome upload(Session& session, Channel data, const File& file, std::uint64_t offset, std::uint64_t size,
                       Progress& progress) {
    std::vector<char> scratch(data.has_tls() ? transfer_block : 0);
    std::uint64_t position = offset;
    return run_transfer(session, data, offset, position, progress, "upload", [&] {
        // Bounded by the file size: each round moves at least one byte or stops.
        while (position < size) {
            throw_if_interrupted();
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size - position, transfer_block));
            const std::uint64_t sent = data.send_file_chunk(file, position, want, scratch);
            if (sent == 0) throw ClientError(cat("the local file shrank to ", position, " bytes during the upload"));
            position += sent;
            progress.update(position);
        }
        data.finish_sending();
    });
}

TransferOutcome download(Session& session, Channel data, const File& file, std::uint64_t offset, Progress& progress,
                         BackgroundDigest& digest) {
    std::uint64_t position = offset;
    return run_transfer(session, data, offset, position, progress, "download", [&] {
        // Ends at the server's end of stream; every read has the channel's timeout.
        for (std::size_t round = 0; round < (std::size_t{1} << 40); ++round) {
            std::vector<char> block = digest.take();
            const Filled filled = fill_block(data, block);
            write_to_file(file, std::span<const char>(block.data(), filled.used), position);
            position += filled.used;
            digest.submit(std::move(block), filled.used);
            progress.update(position);
            if (filled.end) break;
        }
    });
}

std::string receive_text(Session& session, Channel data, std::string_view action) {
    std::string text;
    char block[64 * 1024];
    for (int round = 0; round < 1'000'000; ++round) {  // listings beyond 64 GB are not a thing
        const std::size_t got = data.read_some(block);
        if (got == 0) break;
        text.append(block, got);
    }
    { Channel closing = std::move(data); }
    session.finish_transfer(action);
    return text;
}

std::string transfer_summary(std::string_view verb, const Progress& progress) {
    const double seconds = std::max(progress.seconds(), 1e-6);
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.2f s", seconds);
    return cat(verb, " ", format_size(progress.moved()), " in ", elapsed, " (",
               format_rate(static_cast<double>(progress.moved()) / seconds), ")");
}

}  // namespace ferry::client
