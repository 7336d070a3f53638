// The data-connection pumps. A Transfer owns its data stream and its file; destroying it aborts
// (ABOR, disconnect, shutdown) and closes both. Binary downloads go file -> socket with the
// stream's send_file, binary uploads socket -> file with recv_to_file; ASCII mode converts line
// ends through a buffer.
#pragma once
#include "fs/files_being_written.hpp"
#include "net/stream.hpp"
#include "proto/rate_limit.hpp"
#include "proto/upload_digest.hpp"
#include "proto/xferlog.hpp"
#include "sys/handle.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ferry::proto {

// Whose fault a failed transfer was: the data connection's (426) or ours, the file system's or
// the quota's (451, 452, 552).
enum class FailureSide { connection, local };

struct TransferOutcome {
    Error err;                  // ok = complete
    FailureSide side = FailureSide::connection;
    std::uint64_t bytes = 0;    // bytes moved over the data connection (and kept)
    std::uint64_t dropped = 0;  // bytes read and dropped after the quota was reached
};

// An upload that reaches the quota keeps the file at exactly the limit, then reads and drops what
// the client still sends, up to these bounds, so the data connection can close without unread bytes
// (which make the kernel send a reset, and curl or ftplib then never read the 552). Past either
// bound the data connection is cut as it is.
struct QuotaDrain {
    std::uint64_t max_bytes = 0;
    std::chrono::steady_clock::duration max_time{};
};

// How much an upload may still write. Asked before each chunk; the session implements it against
// the user's quota (in memory, or in a database shared by several nodes). grant() calls `granted`
// with what may be written, maybe less than asked (0 = nothing more), or with an error when it
// cannot tell (the database is unreachable): at once, or later from the reactor loop; never after
// the budget is destroyed (what it had reserved for that call is then released).
class UploadBudget {
public:
    using Granted = std::function<void(Error err, std::uint64_t bytes)>;
    virtual ~UploadBudget() = default;
    virtual void grant(std::uint64_t wanted, Granted granted) = 0;
    // `granted` bytes were reserved, `used` of them were written.
    virtual void settle(std::uint64_t granted, std::uint64_t used) = 0;
};

class Transfer {
public:
    using Done = std::function<void(const TransferOutcome&)>;
    virtual ~Transfer() = default;
    // `done` runs once, from the reactor loop, unless the Transfer is destroyed first.
    virtual void start(Done done) = 0;
    virtual std::uint64_t bytes() const = 0;
    // Bytes moved either way so far, also those dropped after the quota (for the data timeout).
    virtual std::uint64_t progress() const { return bytes(); }
    // The upload reached the quota and is draining what the client still sends.
    virtual bool over_quota() const { return false; }
};

// A transfer's file-system work that may wait for storage (a read the page cache cannot answer,
// closing the file): `work` runs off the reactor (the session's I/O pool), then `then` back on the
// reactor. A transfer guards `then` with its lifetime: dropped if the transfer is gone by then.
using OffReactor = std::function<void(std::function<void()> work, std::function<void()> then)>;

// Bytes [offset, end) of `file`, or up to its end if it is shorter (UINT64_MAX: to the end). The
// caller opened the file and knows its size: the transfer makes no file-system call to start.
// What goes through memory (TLS without kTLS, TYPE A) is read here when the page cache holds it,
// else with `storage`; the file is closed with `storage` too. `pacer` (may be null): the account's
// download rate, asked before each slice.
std::unique_ptr<Transfer> make_file_download(std::unique_ptr<net::Stream> stream, File file, std::uint64_t offset,
                                             std::uint64_t end, DataType type, OffReactor storage,
                                             net::Stream::FileState state = net::Stream::FileState::settled,
                                             std::unique_ptr<Pacer> pacer = nullptr);
// A listing, already formatted.
std::unique_ptr<Transfer> make_text_download(std::unique_ptr<net::Stream> stream, std::string text);
// A listing sent piece by piece: `first`, then what `next` hands over, until it hands over "".
// `next(deliver)` makes the next piece (on the worker pool) and calls deliver(err, text) from the
// reactor loop; a delivery after the Transfer is gone is dropped.
using Deliver = std::function<void(Error err, std::string text)>;
using NextPiece = std::function<void(Deliver deliver)>;
std::unique_ptr<Transfer> make_piecewise_download(std::unique_ptr<net::Stream> stream, std::string first,
                                                  NextPiece next);
// Until the client closes the data connection; written at `offset` (the caller has already cut
// the file there for STOR). `budget` may be null (no quota).
// `writing` marks the file as being written (for downloads of it elsewhere) for the upload's life.
// `digest` (may be null) is told of every chunk that reached the file and of how the upload ended.
// The file is closed with `storage` before the transfer is done, and a failed close fails it.
std::unique_ptr<Transfer> make_file_upload(std::unique_ptr<net::Stream> stream, File file, std::uint64_t offset,
                                           DataType type, std::unique_ptr<UploadBudget> budget, QuotaDrain drain,
                                           OffReactor storage, fs::FilesBeingWritten::Mark writing = {},
                                           std::shared_ptr<UploadDigest> digest = nullptr);

}  // namespace ferry::proto
