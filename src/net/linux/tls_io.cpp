#include "net/linux/tls_io.hpp"

#include "net/stream.hpp"
#include "net/tls_context.hpp"
#include "sys/posix/fd_io.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace ferry::net::detail {
namespace {

// pread/SSL_read buffers for file transfers: big enough that a turn makes few syscalls for the
// file, small enough per data connection. TLS records are 16 KiB anyway.
constexpr std::size_t file_buffer_size = 256u << 10;
// OpenSSL's records per send() for writes without kTLS: 16 full TLS 1.3 records (16 KiB of content,
// a type byte, a 16-byte tag and a 5-byte header each), the 256 KiB of file one read fills.
// Measured with 2 GiB FTPS downloads (bench/, AES-256-GCM): one send() per batch instead of per
// record took 10-20% less CPU. Batches of 64 KiB to 512 KiB differed less than the runs did.
constexpr std::size_t full_record_size = 16384 + 1 + 16 + 5;
constexpr std::size_t record_batch_size = 16 * full_record_size;
// SSL_sendfile goes to sendfile(2), which moves at most this much per call (MAX_RW_COUNT).
constexpr std::uint64_t max_sendfile_call = 0x7ffff000;

// OpenSSL reports through the thread's error queue and errno: both must start clean for every
// call, or a stale entry from an earlier failure (any connection on this thread) is misread.
void prepare_call() {
    ERR_clear_error();
    errno = 0;
}

// Whether the kernel has kTLS: the tls ULP refuses an unconnected socket with ENOTCONN where it
// exists (loaded, or loaded now on demand), ENOENT where it does not.
bool kernel_offers_ktls() {
    const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return false;
    const bool found = ::setsockopt(probe, SOL_TCP, TCP_ULP, "tls", sizeof "tls") == 0 || errno != ENOENT;
    ::close(probe);
    return found;
}

// A chunk of a send_file without kTLS. From the page cache only (preadv2 RWF_NOWAIT, which never
// waits for storage) unless `cached_until` says the piece was brought in, or there is no one to
// bring it (null: an ordinary read, which can wait). -1 with EAGAIN: bring it in first.
// ferryd's downloads do not come here: proto/transfer.cpp reads those blocks itself and writes
// them; send_file on a TLS stream is theirs only under kTLS (SSL_sendfile).
ssize_t read_chunk(int file, std::span<char> into, std::uint64_t offset, const std::uint64_t* cached_until) {
    if (!cached_until || offset + into.size() <= *cached_until)
        return ::pread(file, into.data(), into.size(), static_cast<off_t>(offset));
    iovec vector{into.data(), into.size()};
    const ssize_t cached = ::preadv2(file, &vector, 1, static_cast<off_t>(offset), RWF_NOWAIT);
    if (cached < 0 && errno == EOPNOTSUPP) errno = EAGAIN;  // no probing here: bring it in, then read
    return cached;
}

}  // namespace

std::unique_ptr<TlsIo> TlsIo::create(SSL_CTX* ctx, int socket, bool as_server, std::string* error) {
    prepare_call();
    SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
    if (!ssl || SSL_set_fd(ssl, socket) != 1) {  // a socket BIO without BIO_CLOSE: the fd stays ours
        if (error) *error = "cannot create a TLS connection: " + drain_openssl_errors();
        SSL_free(ssl);
        return nullptr;
    }
    // FTP clients often close a data connection without close_notify: that is a plain EOF.
    SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    // RELEASE_BUFFERS: an idle control connection should not hold 2 x 16 KiB of record buffers.
    // ENABLE_PARTIAL_WRITE: SSL_write returns after each record, so `done` is always exact and a
    // turn can stop at its budget. ACCEPT_MOVING_WRITE_BUFFER: a retry after WANT_WRITE passes the
    // same bytes, but not necessarily at the same address.
    SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (as_server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
    }
    return std::unique_ptr<TlsIo>(new TlsIo(ssl, socket));
}

TlsIo::TlsIo(SSL* ssl, int socket) : ssl_(ssl), batch_(socket, record_batch_size) {}

TlsIo::~TlsIo() { SSL_free(ssl_); }

std::string TlsIo::description() const {
    return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

void TlsIo::issue_no_tickets() { SSL_set_num_tickets(ssl_, 0); }

// The socket BIO's: it is the read BIO always, the write BIO too unless batch_ is attached.
bool TlsIo::ktls_send() const {
    BIO* socket = SSL_get_rbio(ssl_);
    return socket && BIO_get_ktls_send(socket);
}

void TlsIo::abandon_write() {
    if (write_pending_ || batch_.held()) writes_poisoned_ = true;
    batch_.detach(ssl_);
}

Turn TlsIo::classify(int result, int saved_errno) {
    switch (SSL_get_error(ssl_, result)) {
        case SSL_ERROR_WANT_READ: return {TurnEnd::wait_readable};
        case SSL_ERROR_WANT_WRITE: return {TurnEnd::wait_writable};
        case SSL_ERROR_ZERO_RETURN: return {TurnEnd::complete};
        case SSL_ERROR_SYSCALL:
            fatal_ = true;
            // errno 0: the peer closed at a point where EOF cannot be taken for a clean end.
            failure_ = saved_errno ? std::strerror(saved_errno) : "connection closed by the peer";
            ERR_clear_error();
            return {TurnEnd::failed, saved_errno ? saved_errno : ECONNRESET};
        default:
            fatal_ = true;
            failure_ = drain_openssl_errors();
            return {TurnEnd::failed, EPROTO};
    }
}

Turn TlsIo::handshake() {
    prepare_call();
    const int result = SSL_do_handshake(ssl_);
    const int saved_errno = errno;
    if (result == 1) {
        established_ = true;
        return after_writes({TurnEnd::complete});
    }
    Turn turn = classify(result, saved_errno);
    if (turn.end == TurnEnd::complete) {  // close_notify or EOF before the handshake finished
        fatal_ = true;
        failure_ = "connection closed by the peer during the handshake";
        return {TurnEnd::failed, ECONNRESET};
    }
    return turn;
}

Turn TlsIo::read(std::span<char> buffer, std::uint64_t& got) {
    got = 0;
    std::size_t n = 0;
    prepare_call();
    const int result = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    const int saved_errno = errno;
    if (result == 1) {
        got = n;
        return {TurnEnd::complete};
    }
    return classify(result, saved_errno);  // complete here is EOF: got == 0
}

// One SSL_write call (one record with partial writes). Remembers an unfinished record. A WANT_WRITE
// while the batch holds records means it was full: it goes to the kernel now, and the
// turn goes on (the retry offers the same bytes) if all of it went.
Turn TlsIo::write_some(const char* data, std::size_t size, std::uint64_t& written) {
    if (writes_poisoned_) return {TurnEnd::failed, EPIPE};
    std::size_t n = 0;
    prepare_call();
    const int result = SSL_write_ex(ssl_, data, size, &n);
    const int saved_errno = errno;
    if (result == 1) {
        write_pending_ = false;
        written += n;
        return {TurnEnd::complete};
    }
    Turn turn = classify(result, saved_errno);
    write_pending_ = turn.end == TurnEnd::wait_readable || turn.end == TurnEnd::wait_writable;
    if (turn.end == TurnEnd::complete) return {TurnEnd::failed, EPIPE};  // the peer closed: no more writing
    if (turn.end == TurnEnd::wait_writable && batch_.held()) return batch_.flush();
    return turn;
}

// What OpenSSL left in the batch goes to the kernel before `turn` may end.
Turn TlsIo::after_writes(Turn turn) {
    const bool ends_turn = turn.end == TurnEnd::complete || turn.end == TurnEnd::yield || turn.end == TurnEnd::wait_storage;
    if (!ends_turn || batch_.held() == 0) return turn;
    const Turn flushed = batch_.flush();
    return flushed.end == TurnEnd::complete ? turn : flushed;
}

// A write of more than one record (a listing, a download's block: proto/transfer.cpp) is batched
// like copy_turn's records; a reply on the control connection goes out as it is.
Turn TlsIo::write(std::span<const char> all, std::uint64_t& done) {
    if (all.size() - done > full_record_size && !ktls_send() && !writes_poisoned_) batch_.attach(ssl_);
    std::uint64_t budget = turn_budget;
    while (done < all.size()) {
        // The budget is checked between calls, never used to shorten one: a retry after WANT_WRITE
        // must offer at least the bytes of the record OpenSSL is still holding.
        if (budget == 0) return after_writes({TurnEnd::yield});
        const auto rest = all.subspan(static_cast<std::size_t>(done));
        const std::uint64_t before = done;
        const Turn turn = write_some(rest.data(), rest.size(), done);
        budget -= std::min(budget, done - before);
        if (turn.end != TurnEnd::complete) return turn;
    }
    if (Turn turn = after_writes({TurnEnd::complete}); turn.end != TurnEnd::complete) return turn;
    batch_.detach(ssl_);
    return {TurnEnd::complete};
}

Turn TlsIo::send_file(int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                      std::uint64_t* cached_until) {
    // Bytes already in file_out_ must go out through SSL_write first, whatever kTLS says now.
    if (ktls_send() && zero_copy_allowed_ && file_pos_ == file_filled_)
        return send_file_ktls(file, offset, count, done, cached_until);
    const Turn turn = copy_turn(file, offset, count, done, cached_until);
    if (turn.end == TurnEnd::failed) abandon_write();  // no batch stays attached: close_notify must reach the socket
    return turn;
}

Turn TlsIo::send_file_ktls(int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                           std::uint64_t* cached_until) {
    if (writes_poisoned_) return {TurnEnd::failed, EPIPE};
    std::uint64_t budget = turn_budget;
    while (done < count) {
        if (budget == 0) return {TurnEnd::yield};
        const auto chunk = static_cast<std::size_t>(std::min({count - done, budget, max_sendfile_call}));
        if (!may_send_piece(file, offset + done, chunk, cached_until)) return {TurnEnd::wait_storage};
        prepare_call();
        const ossl_ssize_t n = SSL_sendfile(ssl_, file, static_cast<off_t>(offset + done), chunk, 0);
        const int saved_errno = errno;
        if (n == 0) return {TurnEnd::complete};  // the file is shorter than asked
        if (n < 0) {
            if (saved_errno == EINTR) continue;
            if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) return {TurnEnd::wait_writable};
            // Not a socket error: OpenSSL's (e.g. a pending alert it could not flush).
            Turn turn = classify(-1, saved_errno);
            return turn.end == TurnEnd::complete ? Turn{TurnEnd::failed, EPIPE} : turn;
        }
        done += static_cast<std::uint64_t>(n);
        budget -= std::min(budget, static_cast<std::uint64_t>(n));
    }
    return {TurnEnd::complete};
}

// pread into file_out_, SSL_write from there (a chunk not in the page cache: wait_storage, as for
// SSL_sendfile). Without kTLS the records go into batch_ and out in
// one send() per batch; the operation is complete only once the last batch is in the kernel.
Turn TlsIo::copy_turn(int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                      std::uint64_t* cached_until) {
    auto out = buffer(file_out_);
    if (!ktls_send() && !writes_poisoned_) batch_.attach(ssl_);  // if it cannot, records go one by one
    std::uint64_t budget = turn_budget;
    while (done < count) {
        if (budget == 0) return after_writes({TurnEnd::yield});
        if (file_pos_ == file_filled_) {
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(count - done, out.size()));
            const ssize_t n = read_chunk(file, out.first(want), offset + done, cached_until);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return after_writes({TurnEnd::wait_storage});
            if (n < 0) return {TurnEnd::failed, errno};
            if (n == 0) break;  // the file is shorter than asked
            file_pos_ = 0;
            file_filled_ = static_cast<std::size_t>(n);
        }
        const std::uint64_t before = done;
        const Turn turn = write_some(out.data() + file_pos_, file_filled_ - file_pos_, done);
        file_pos_ += static_cast<std::size_t>(done - before);
        budget -= std::min(budget, done - before);
        if (turn.end != TurnEnd::complete) return turn;
    }
    if (Turn turn = after_writes({TurnEnd::complete}); turn.end != TurnEnd::complete) return turn;
    batch_.detach(ssl_);
    return {TurnEnd::complete};
}

Turn TlsIo::recv_to_file(int file, std::uint64_t offset, std::uint64_t max, std::uint64_t& done) {
    auto in = buffer(file_in_);
    std::uint64_t budget = turn_budget;
    while (done < max) {
        if (budget == 0) return {TurnEnd::yield};
        // Gather records into the buffer until it is full or OpenSSL stops, then write it at once:
        // one pwrite per 256 KiB instead of one per 16 KiB record.
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(max - done, in.size()));
        std::size_t filled = 0;
        Turn stop{TurnEnd::yield};  // yield = keep going
        while (filled < want && stop.end == TurnEnd::yield) {
            std::uint64_t got = 0;
            stop = read(in.subspan(filled, want - filled), got);
            filled += static_cast<std::size_t>(got);
            if (stop.end == TurnEnd::complete && got > 0) stop = {TurnEnd::yield};
        }
        if (int err = sys::pwrite_all(file, in.first(filled), offset + done, done)) return {TurnEnd::failed, err};
        if (stop.end != TurnEnd::yield) return stop;  // EOF (complete), readiness, or a TLS error
        budget -= std::min<std::uint64_t>(budget, filled);
    }
    return {TurnEnd::complete};
}

Turn TlsIo::close_notify() {
    if (!established_ || fatal_) return {TurnEnd::failed, ENOTCONN};
    // The alert would queue behind half a record that will never be finished: OpenSSL refuses.
    if (writes_poisoned_) return {TurnEnd::failed, EPIPE};
    if (!close_notify_sent_) {
        prepare_call();
        const int result = SSL_shutdown(ssl_);
        const int saved_errno = errno;
        if (result < 0) {
            // Only an unsent close_notify is worth waiting for; reading the peer's is not our business.
            const Turn turn = classify(result, saved_errno);
            if (turn.end != TurnEnd::wait_readable && turn.end != TurnEnd::complete) return turn;
        }
        close_notify_sent_ = true;  // 0: sent; 1: the peer's came in already
    }
    return after_writes({TurnEnd::complete});
}

std::span<char> TlsIo::buffer(std::vector<char>& storage) {
    if (storage.empty()) storage.resize(file_buffer_size);
    return storage;
}

}  // namespace ferry::net::detail

namespace ferry::net {

bool kernel_tls_available() {
    static const bool kernel = detail::kernel_offers_ktls();
    return kernel;
}

}  // namespace ferry::net
