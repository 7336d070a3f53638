// The data-connection pumps. A Transfer owns its data stream and its file; destroying it aborts
// (ABOR, disconnect, shutdown) and closes both. Binary downloads go file -> socket with sendfile,
// binary uploads socket -> file in writes of up to 256 KiB; ASCII mode converts line ends through a buffer.
#pragma once
#include "base/fd.hpp"
#include "net/stream.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ferry::proto {

struct TransferOutcome {
    int err = 0;              // 0 = complete
    bool local = false;       // the error was ours (file system, quota), not the connection's
    std::uint64_t bytes = 0;  // bytes moved over the data connection
};

// How much an upload may still write. Asked before each chunk; the quota issue implements it
// against the user's shared usage. grant() may return less than asked, 0 = nothing more.
class UploadBudget {
public:
    virtual ~UploadBudget() = default;
    virtual std::uint64_t grant(std::uint64_t wanted) = 0;
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
};

// Bytes [offset, end) of `file`; `end` is clamped to the file's size (UINT64_MAX: to the end).
std::unique_ptr<Transfer> make_file_download(std::unique_ptr<net::Stream> stream, Fd file, std::uint64_t offset,
                                             std::uint64_t end, bool ascii);
// A listing, already formatted.
std::unique_ptr<Transfer> make_text_download(std::unique_ptr<net::Stream> stream, std::string text);
// Until the client closes the data connection; written at `offset` (the caller has already cut
// the file there for STOR). `budget` may be null (no quota).
std::unique_ptr<Transfer> make_file_upload(std::unique_ptr<net::Stream> stream, Fd file, std::uint64_t offset,
                                           bool ascii, std::unique_ptr<UploadBudget> budget);

}  // namespace ferry::proto
