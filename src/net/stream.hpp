// A connected TCP socket on one reactor, driven by operations that complete with a callback.
//
// At most one read-side operation (read_some, recv_to_file) and one write-side operation
// (write_all, send_file) may be pending at once. Completions are always delivered from the reactor
// loop (never from inside the call that started the operation), and never after cancel() or the
// Stream's destruction, so an owner may destroy its Stream from inside any callback.
#pragma once
#include "base/fd.hpp"
#include "net/address.hpp"
#include "net/reactor.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>

namespace ferry::net {

// err == 0 on success, else an errno (ECONNRESET, EPIPE, EDQUOT, ENOSPC, ...). n = bytes moved,
// also on failure (what was moved before the error).
using IoDone = std::function<void(int err, std::uint64_t n)>;

class Stream final : private Reactor::Handler {
public:
    Stream(Reactor& reactor, Fd socket);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Read what is available, at least one byte. n == 0 with err == 0 means the peer closed (EOF).
    void read_some(std::span<char> buffer, IoDone done);
    // Write all of `buffer` (the caller keeps it alive until done).
    void write_all(std::span<const char> buffer, IoDone done);
    // Send `count` bytes of a regular file from `offset` with sendfile(2), kernel to socket.
    // Completes when count bytes went out, or early with n < count if the file ended first.
    void send_file(int file_fd, std::uint64_t offset, std::uint64_t count, IoDone done);
    // Receive into a regular file at `offset` (splice through a pipe: no copy through user space)
    // until the peer closes or `max` bytes arrived. n == max means more may follow; n < max with
    // err == 0 means the peer closed. A write error (EDQUOT, ENOSPC, EIO) ends it with that errno.
    void recv_to_file(int file_fd, std::uint64_t offset, std::uint64_t max, IoDone done);

    // Drop pending operations; their callbacks will not run.
    void cancel();
    // Half-close: the peer reads EOF after what was written.
    void shutdown_write();

    Address local_address() const;
    Address peer_address() const;
    // When the last byte moved either way (for idle and data timeouts).
    std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
    int native_handle() const { return socket_.get(); }

private:
    void on_readable() override;
    void on_writable() override;
    void on_error() override;
    struct ReadOp;
    struct WriteOp;
    void run_read();
    void run_write();
    void complete_read(int err, std::uint64_t n);
    void complete_write(int err, std::uint64_t n);

    Reactor& reactor_;
    Fd socket_;
    std::chrono::steady_clock::time_point last_activity_;
    // Implementation state (pending ops, pipe for splice, a generation counter so that cancelled or
    // destroyed streams never see late completions) lives in the .cpp.
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace ferry::net
