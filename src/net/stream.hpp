// A connected TCP socket on one reactor, driven by operations that complete with a callback.
//
// At most one read-side operation (read_some, recv_to_file) and one write-side operation
// (write_all, send_file) may be pending at once. Completions are always delivered from the reactor
// loop (never from inside the call that started the operation), and never after cancel() or the
// Stream's destruction, so an owner may destroy its Stream from inside any callback.
//
// TLS (FTPS, RFC 4217): start_tls turns a plain stream into a TLS one in place (AUTH TLS on the
// control connection, PROT P data connections). Afterwards the same operations carry TLS records;
// their contracts do not change.
#pragma once
#include "base/fd.hpp"
#include "net/address.hpp"
#include "net/reactor.hpp"

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>

namespace ferry::net {

class TlsContext;

// The FTP server is the TLS server on control and data connections alike, also in active mode
// (PORT/EPRT), where it made the TCP connection itself.
enum class TlsRole { server, client };

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
    // A file that is `being_written` never goes through kTLS's SSL_sendfile (see
    // fs/files_being_written.hpp); plain sockets send it with sendfile all the same.
    enum class FileState { settled, being_written };
    void send_file(int file_fd, std::uint64_t offset, std::uint64_t count, IoDone done,
                   FileState state = FileState::settled);
    // Receive into a regular file at `offset` (large receives, then one pwrite per MiB; see socket_io.hpp)
    // until the peer closes or `max` bytes arrived. n == max means more may follow; n < max with
    // err == 0 means the peer closed. A write error (EDQUOT, ENOSPC, EIO) ends it with that errno.
    void recv_to_file(int file_fd, std::uint64_t offset, std::uint64_t max, IoDone done);

    // ---- TLS ----
    // Runs the handshake on this connection. Refused when another operation is pending (EBUSY),
    // on a second start_tls (EALREADY) or with an empty context (EINVAL). Completes with 0, EPROTO
    // when the handshake failed (OpenSSL's reason is logged), ECONNRESET when the peer closed during
    // it, or another errno. No timeout of its own: a peer that stalls leaves it pending until the
    // owner's timer destroys the Stream.
    // tls() is valid as soon as start_tls returns, and the first handshake step runs from the loop,
    // so the caller may still configure the SSL: SSL_set_session / SSL_set1_host on a client, and
    // SSL_set_num_tickets(tls(), 0) on a server's data connection (an uploading client never reads
    // its data connection, so TLS 1.3 tickets left unread there make its close a TCP reset, which
    // loses the upload's tail; data connections resume the control session and need no tickets).
    void start_tls(const TlsContext& context, TlsRole role, IoDone done);
    // Sends close_notify (best effort; the peer's close_notify is not awaited), then completes; the
    // owner destroys the Stream afterwards. FTPS clients take a data connection closed without it
    // for a truncated transfer. No write may be pending (EBUSY). Completes with 0 at once on a
    // plain stream, ENOTCONN when TLS never came up or already failed.
    void shutdown_tls(IoDone done);
    // The connection's SSL (nullptr when plain): for tag_control_session / resumed_from, the
    // cipher, the peer's certificate.
    SSL* tls() const;
    // Whether the kernel encrypts what this stream sends (kTLS), so send_file stays zero-copy.
    bool ktls_send() const;

    // Drop pending operations; their callbacks will not run. On a TLS stream, dropping a write that
    // was halfway through a record ends writing on it for good (later writes fail with EPIPE).
    void cancel();
    // Drop the pending read-side operation only (not a handshake); a pending write goes on.
    // AUTH TLS uses it: the clear-text read must be gone before the client can send its ClientHello.
    void cancel_read();
    // Half-close: the peer reads EOF after what was written.
    void shutdown_write();

    Address local_address() const;
    Address peer_address() const;
    // Bytes the pending read-side and write-side operations have moved so far; their callbacks
    // report them only at the end, so an ABOR or a timeout in the middle would otherwise see 0.
    std::uint64_t in_flight() const;
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
    // Why a read/write may not start now (0 = it may): pending, or TLS not (yet) usable.
    int refusal(bool read_side) const;
    void refuse(IoDone done, int err);
    void log_tls_failure(const char* during) const;

    Reactor& reactor_;
    Fd socket_;
    std::chrono::steady_clock::time_point last_activity_;
    // Implementation state (pending ops, the receive buffer, a generation counter so that cancelled or
    // destroyed streams never see late completions) lives in the .cpp.
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace ferry::net
