// A connected TCP connection on one reactor, driven by operations that complete with a callback.
// This is the seam between the protocol and the platform: the Linux backend implements it over
// non-blocking sockets and epoll readiness (net/linux/socket_stream.cpp), a Windows one over
// overlapped WSARecv/WSASend/TransmitFile; unit tests implement it with a fake.
//
// The contract every implementation keeps:
//  - At most one read-side operation (read_some, recv_to_file) and one write-side operation
//    (write_all, send_file) may be pending at once.
//  - Completions are always delivered from the reactor loop (never from inside the call that
//    started the operation), and never after cancel() or the Stream's destruction, so an owner may
//    destroy its Stream from inside any callback.
//
// TLS (FTPS, RFC 4217): start_tls turns a plain stream into a TLS one in place (AUTH TLS on the
// control connection, PROT P data connections). Afterwards the same operations carry TLS records;
// their contracts do not change.
#pragma once
#include "net/address.hpp"
#include "net/reactor.hpp"
#include "sys/error.hpp"
#include "sys/handle.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace ferry::net {

class TlsContext;

// The FTP server is the TLS server on control and data connections alike, also in active mode
// (PORT/EPRT), where it made the TCP connection itself.
enum class TlsRole { server, client };

struct TlsOptions {
    // Data connections set it false: an uploading client never reads its data connection, so TLS
    // 1.3 tickets left unread there make its close a TCP reset, which loses the upload's tail;
    // data connections resume the control session and need no tickets.
    bool session_tickets = true;
};

// A default (ok) Error on success, else what failed (reset, broken_pipe, quota, no_space, ...).
// n = bytes moved, also on failure (what was moved before the error).
using IoDone = std::function<void(Error err, std::uint64_t n)>;

class Stream {
public:
    virtual ~Stream() = default;

    // Read what is available, at least one byte. n == 0 with no error means the peer closed (EOF).
    virtual void read_some(std::span<char> buffer, IoDone done) = 0;
    // Write all of `buffer` (the caller keeps it alive until done).
    virtual void write_all(std::span<const char> buffer, IoDone done) = 0;
    // Send `count` bytes of a regular file from `offset`, kernel to socket where the platform can.
    // Completes when count bytes went out, or early with n < count if the file ended first.
    // A file that is `being_written` never goes through kTLS's SSL_sendfile (see
    // fs/files_being_written.hpp); plain sockets send it with sendfile all the same.
    // The caller keeps `file` open until done.
    // Where the kernel reads the file on the calling thread (Linux's sendfile and SSL_sendfile), a
    // piece whose first or last byte the page cache does not hold (preadv2 RWF_NOWAIT) is handed
    // to `bring_into_cache` first, which reads it off the reactor and then calls `then` on it:
    // the reactor never waits for storage, and cached pieces stay zero-copy. Without one, or on
    // Windows (TransmitFile is overlapped), the file is sent as it is.
    enum class FileState { settled, being_written };
    using BringIntoCache = std::function<void(std::uint64_t offset, std::uint64_t count, std::function<void()> then)>;
    virtual void send_file(const File& file, std::uint64_t offset, std::uint64_t count, IoDone done,
                           FileState state = FileState::settled, BringIntoCache bring_into_cache = nullptr) = 0;
    // Receive into a regular file at `offset` (large receives, then one write per 256 KiB buffer)
    // until the peer closes or `max` bytes arrived. n == max means more may follow; n < max with no
    // error means the peer closed. A write error (quota, no_space, io) ends it with that error.
    virtual void recv_to_file(const File& file, std::uint64_t offset, std::uint64_t max, IoDone done) = 0;

    // ---- TLS ----
    // Runs the handshake on this connection. Refused when another operation is pending (busy),
    // on a second start_tls (already) or with an empty context (invalid). Completes with ok,
    // protocol when the handshake failed (OpenSSL's reason is logged), reset when the peer closed
    // during it, or another error. No timeout of its own: a peer that stalls leaves it pending
    // until the owner's timer destroys the Stream.
    virtual void start_tls(const TlsContext& context, TlsRole role, IoDone done, TlsOptions options = {}) = 0;
    // Sends close_notify (best effort; the peer's close_notify is not awaited), then completes; the
    // owner destroys the Stream afterwards. FTPS clients take a data connection closed without it
    // for a truncated transfer. No write may be pending (busy). Completes with ok at once on a
    // plain stream, not_connected when TLS never came up or already failed.
    virtual void shutdown_tls(IoDone done) = 0;
    virtual bool is_tls() const = 0;
    // "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done; "" before.
    virtual std::string tls_description() const = 0;
    // Session reuse for PROT P (see tls_context.hpp): the control connection's tag, taken once
    // right after its handshake; whether a data connection resumed the session with that tag.
    virtual std::string tag_tls_session() = 0;
    virtual bool tls_resumed_from(std::string_view control_tag) const = 0;
    // TLS 1.3 server: one more session ticket for this connection's session, sent ahead of the
    // next bytes written (nothing on TLS 1.2 or a plain stream). Clients use a TLS 1.3 ticket once
    // (RFC 8446 C.4), so the control connection hands out a new one for each data connection that
    // resumed with one, or the client runs out after its second transfer.
    virtual void offer_tls_ticket() = 0;
    // Whether the kernel encrypts what this stream sends (kTLS), so send_file stays zero-copy.
    virtual bool ktls_send() const = 0;

    // Drop pending operations; their callbacks will not run. On a TLS stream, dropping a write that
    // was halfway through a record ends writing on it for good (later writes fail with broken_pipe).
    virtual void cancel() = 0;
    // Drop the pending read-side operation only (not a handshake); a pending write goes on.
    // AUTH TLS uses it: the clear-text read must be gone before the client can send its ClientHello.
    virtual void cancel_read() = 0;
    // Half-close: the peer reads EOF after what was written.
    virtual void shutdown_write() = 0;

    virtual Address local_address() const = 0;
    virtual Address peer_address() const = 0;
    // Bytes the pending read-side and write-side operations have moved so far; their callbacks
    // report them only at the end, so an ABOR or a timeout in the middle would otherwise see 0.
    virtual std::uint64_t in_flight() const = 0;
    // When the last byte moved either way (for idle and data timeouts).
    virtual std::chrono::steady_clock::time_point last_activity() const = 0;
};

// The platform's stream over a connected socket, registered with `reactor`.
std::unique_ptr<Stream> make_stream(Reactor& reactor, Socket socket);

// Whether the kernel can seal TLS records (kTLS), so that OpenSSL hands it a connection's keys and
// downloads go with SSL_sendfile; elsewhere OpenSSL seals every record. Linux asks its kernel once,
// at the first call (which may load the tls module); Windows has no kTLS.
bool kernel_tls_available();

}  // namespace ferry::net
