// The Linux Stream: completion-shaped operations over a non-blocking socket and edge-triggered
// readiness.
//
// Every operation first tries its syscall right away; on EAGAIN it records which readiness it waits
// for, and the reactor's edge for that direction runs another turn. Plain reads wait for readable
// and writes for writable; a TLS stream may wait the other way (SSL_read wanting to write), which
// is why the wait is recorded per operation instead of being implied by its side.
//
// TLS adds two operations: the handshake occupies the read side (and blocks the write side),
// close_notify the write side. The SSL itself lives in State (tls_io.hpp).
#include "net/linux/socket_stream.hpp"

#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "net/linux/sockaddr.hpp"
#include "net/linux/socket_io.hpp"
#include "net/linux/tls_io.hpp"
#include "net/tls_context.hpp"
#include "sys/posix/errno.hpp"
#include "sys/process.hpp"

#include <cerrno>
#include <string>
#include <sys/socket.h>
#include <utility>

namespace ferry::net {
namespace {

enum class Wait { none, readable, writable, storage };
// What a send_file brings into the page cache at once when a piece is not there.
constexpr std::uint64_t storage_piece = 8u << 20;

}  // namespace

std::unique_ptr<Stream> make_stream(Reactor& reactor, Socket socket) {
    return std::make_unique<SocketStream>(reactor, std::move(socket));
}

struct SocketStream::ReadOp {
    enum class Kind { none, read_some, recv_to_file, tls_handshake } kind = Kind::none;
    std::span<char> buffer;
    int file_fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t max = 0;
    std::uint64_t done = 0;
    IoDone callback;
    Wait waiting = Wait::none;
};

struct SocketStream::WriteOp {
    enum class Kind { none, write_all, send_file, tls_close_notify } kind = Kind::none;
    std::span<const char> buffer;
    int file_fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t count = 0;
    std::uint64_t done = 0;
    IoDone callback;
    Wait waiting = Wait::none;
    Stream::BringIntoCache bring_into_cache;  // send_file: see stream.hpp
    std::uint64_t cached_until = 0;           // send_file: the page cache held the file up to here
};

struct SocketStream::State {
    ReadOp read;
    WriteOp write;
    detail::FileReceiver receiver;
    std::unique_ptr<detail::TlsIo> tls;  // set by start_tls, for the rest of the Stream's life
    // Bytes of a completed operation whose callback is still on its way (deferred to the loop):
    // in_flight() counts them, or an owner gone before the callback ran would never learn of them.
    std::uint64_t read_landing = 0;
    std::uint64_t write_landing = 0;
    // cancel() renews `lifetime`, cancel_read() `read_lifetime`; destruction ends both.
    Lifetime lifetime;
    Lifetime read_lifetime;

    // `task` runs only if the stream still exists and was not cancelled since.
    template <class F>
    auto guarded(F task) { return lifetime.guard(std::move(task)); }
    // The same for the read side: also dropped by cancel_read().
    template <class F>
    auto guarded_read(F task) { return lifetime.guard(read_lifetime.guard(std::move(task))); }
};

SocketStream::SocketStream(Reactor& reactor, Socket socket)
    : reactor_(reactor),
      socket_(std::move(socket)),
      last_activity_(std::chrono::steady_clock::now()),
      state_(std::make_unique<State>()) {
    sys::ignore_broken_pipe();  // sendfile(2) has no MSG_NOSIGNAL
    if (socket_) detail::watch(reactor_, socket_.get(), this);
}

SocketStream::~SocketStream() {
    if (socket_) detail::unwatch(reactor_, socket_.get());
}

// ---- starting operations ----

int SocketStream::refusal(bool read_side) const {
    const bool busy = read_side ? state_->read.kind != ReadOp::Kind::none : state_->write.kind != WriteOp::Kind::none;
    if (busy || state_->read.kind == ReadOp::Kind::tls_handshake) return EBUSY;
    // A TLS stream whose handshake failed or was dropped: SSL_read/SSL_write would quietly resume it.
    if (state_->tls && !state_->tls->established()) return ENOTCONN;
    return 0;
}

// Refusals complete through the loop too, like every other completion.
void SocketStream::refuse(IoDone done, int err) {
    reactor_.defer(state_->guarded([done = std::move(done), err] { done(sys::from_errno(err), 0); }));
}

void SocketStream::read_some(std::span<char> buffer, IoDone done) {
    // An empty buffer would complete with n == 0, which looks like EOF.
    if (const int err = buffer.empty() ? EINVAL : refusal(true)) return refuse(std::move(done), err);
    state_->read = ReadOp{ReadOp::Kind::read_some, buffer, -1, 0, 0, 0, std::move(done), Wait::none};
    run_read();
}

void SocketStream::recv_to_file(const File& file, std::uint64_t offset, std::uint64_t max, IoDone done) {
    if (const int err = refusal(true)) return refuse(std::move(done), err);
    state_->read = ReadOp{ReadOp::Kind::recv_to_file, {}, file.get(), offset, max, 0, std::move(done), Wait::none};
    run_read();
}

void SocketStream::write_all(std::span<const char> buffer, IoDone done) {
    if (const int err = refusal(false)) return refuse(std::move(done), err);
    state_->write = WriteOp{WriteOp::Kind::write_all, buffer, -1, 0, buffer.size(), 0, std::move(done), Wait::none, nullptr, 0};
    run_write();
}

void SocketStream::send_file(const File& file, std::uint64_t offset, std::uint64_t count, IoDone done,
                             FileState file_state, BringIntoCache bring_into_cache) {
    if (const int err = refusal(false)) return refuse(std::move(done), err);
    if (state_->tls) {
        const bool changing = file_state == FileState::being_written;
        state_->tls->begin_send_file(!changing);
    }
    state_->write = WriteOp{WriteOp::Kind::send_file, {}, file.get(), offset, count, 0, std::move(done), Wait::none,
                            std::move(bring_into_cache), 0};
    run_write();
}

// ---- TLS ----

void SocketStream::start_tls(const TlsContext& context, TlsRole role, IoDone done, TlsOptions options) {
    if (state_->tls) return refuse(std::move(done), EALREADY);
    if (!context) return refuse(std::move(done), EINVAL);
    if (state_->read.kind != ReadOp::Kind::none || state_->write.kind != WriteOp::Kind::none)
        return refuse(std::move(done), EBUSY);
    std::string error;
    state_->tls = detail::TlsIo::create(context.native(), socket_.get(), role == TlsRole::server, &error);
    if (!state_->tls) {
        log::info(cat("tls: with ", peer_address().to_string(), ": ", error));
        return refuse(std::move(done), ENOMEM);
    }
    if (!options.session_tickets) state_->tls->issue_no_tickets();
    state_->read = ReadOp{ReadOp::Kind::tls_handshake, {}, -1, 0, 0, 0, std::move(done), Wait::none};
    // The first step runs from the loop, like every other completion.
    reactor_.defer(state_->guarded([this] { run_read(); }));
}

void SocketStream::shutdown_tls(IoDone done) {
    if (state_->write.kind != WriteOp::Kind::none || state_->read.kind == ReadOp::Kind::tls_handshake)
        return refuse(std::move(done), EBUSY);
    if (!state_->tls) return refuse(std::move(done), 0);  // plain: nothing to close but the socket
    state_->write = WriteOp{WriteOp::Kind::tls_close_notify, {}, -1, 0, 0, 0, std::move(done), Wait::none, nullptr, 0};
    run_write();
}

std::uint64_t SocketStream::in_flight() const {
    return state_->read.done + state_->write.done + state_->read_landing + state_->write_landing;
}

bool SocketStream::is_tls() const { return state_->tls != nullptr; }

SSL* SocketStream::ssl() const { return state_->tls ? state_->tls->ssl() : nullptr; }

std::string SocketStream::tls_description() const { return state_->tls ? state_->tls->description() : std::string(); }

std::string SocketStream::tag_tls_session() { return state_->tls ? tag_control_session(state_->tls->ssl()) : std::string(); }

bool SocketStream::tls_resumed_from(std::string_view control_tag) const {
    return state_->tls && resumed_from(state_->tls->ssl(), control_tag);
}

void SocketStream::offer_tls_ticket() {
    if (state_->tls) offer_session_ticket(state_->tls->ssl());
}

bool SocketStream::ktls_send() const { return state_->tls && state_->tls->ktls_send(); }

void SocketStream::log_tls_failure(const char* during) const {
    if (!state_->tls) return;
    log::info(cat("tls: ", during, " with ", peer_address().to_string(), " failed: ", state_->tls->failure()));
}

void SocketStream::cancel() {
    state_->lifetime.renew();  // drops completions and continuations already deferred
    if (state_->tls && state_->write.kind != WriteOp::Kind::none) state_->tls->abandon_write();
    state_->read = ReadOp{};
    state_->write = WriteOp{};
    state_->read_landing = state_->write_landing = 0;
}

void SocketStream::cancel_read() {
    if (state_->read.kind == ReadOp::Kind::tls_handshake) return;  // only cancel() stops a handshake
    state_->read_lifetime.renew();
    state_->read = ReadOp{};
    state_->read_landing = 0;
}

void SocketStream::shutdown_write() { ::shutdown(socket_.get(), SHUT_WR); }

// ---- readiness ----

void SocketStream::on_readable() {
    // Neither run_* calls a user callback directly (completions are deferred), so `this` stays valid.
    if (state_->read.waiting == Wait::readable) run_read();
    if (state_->write.waiting == Wait::readable) run_write();
}

void SocketStream::on_writable() {
    if (state_->read.waiting == Wait::writable) run_read();
    if (state_->write.waiting == Wait::writable) run_write();
}

void SocketStream::on_error() {
    // Let the syscalls report the error (or the data still queued before a hang-up).
    if (state_->read.waiting != Wait::none) run_read();
    if (state_->write.waiting == Wait::readable || state_->write.waiting == Wait::writable) run_write();
}

// ---- turns ----

void SocketStream::run_read() {
    ReadOp& op = state_->read;
    op.waiting = Wait::none;
    const std::uint64_t before = op.done;
    detail::TlsIo* tls = state_->tls.get();
    detail::Turn turn{detail::TurnEnd::complete};
    if (op.kind == ReadOp::Kind::read_some) {
        turn = tls ? tls->read(op.buffer, op.done) : detail::recv_turn(socket_.get(), op.buffer, op.done);
    } else if (op.kind == ReadOp::Kind::recv_to_file) {
        turn = tls ? tls->recv_to_file(op.file_fd, op.offset, op.max, op.done)
                   : state_->receiver.turn(socket_.get(), op.file_fd, op.offset, op.max, op.done);
    } else if (op.kind == ReadOp::Kind::tls_handshake) {
        turn = tls->handshake();
        if (turn.end == detail::TurnEnd::failed) log_tls_failure("handshake");
    } else {
        return;
    }
    if (op.done != before) last_activity_ = std::chrono::steady_clock::now();
    switch (turn.end) {
        case detail::TurnEnd::complete: complete_read(0, op.done); break;
        case detail::TurnEnd::failed:
            // Socket errors (ECONNRESET) are the owner's to report; TLS ones carry OpenSSL's reason.
            if (turn.err == EPROTO && op.kind != ReadOp::Kind::tls_handshake) log_tls_failure("read");
            complete_read(turn.err, op.done);
            break;
        case detail::TurnEnd::wait_readable: op.waiting = Wait::readable; break;
        case detail::TurnEnd::wait_writable: op.waiting = Wait::writable; break;
        case detail::TurnEnd::yield: reactor_.defer(state_->guarded_read([this] { run_read(); })); break;
        case detail::TurnEnd::wait_storage: break;  // only send_file ends so
    }
}

void SocketStream::run_write() {
    WriteOp& op = state_->write;
    op.waiting = Wait::none;
    const std::uint64_t before = op.done;
    detail::TlsIo* tls = state_->tls.get();
    detail::Turn turn{detail::TurnEnd::complete};
    if (op.kind == WriteOp::Kind::write_all) {
        turn = tls ? tls->write(op.buffer, op.done) : detail::send_turn(socket_.get(), op.buffer, op.done);
    } else if (op.kind == WriteOp::Kind::send_file) {
        std::uint64_t* cached_until = op.bring_into_cache ? &op.cached_until : nullptr;
        turn = tls ? tls->send_file(op.file_fd, op.offset, op.count, op.done, cached_until)
                   : detail::send_file_turn(socket_.get(), op.file_fd, op.offset, op.count, op.done, cached_until);
    } else if (op.kind == WriteOp::Kind::tls_close_notify) {
        turn = tls->close_notify();
    } else {
        return;
    }
    if (op.done != before) last_activity_ = std::chrono::steady_clock::now();
    switch (turn.end) {
        case detail::TurnEnd::complete: complete_write(0, op.done); break;
        case detail::TurnEnd::failed:
            if (turn.err == EPROTO) log_tls_failure("write");
            complete_write(turn.err, op.done);
            break;
        case detail::TurnEnd::wait_readable: op.waiting = Wait::readable; break;
        case detail::TurnEnd::wait_writable: op.waiting = Wait::writable; break;
        case detail::TurnEnd::yield: reactor_.defer(state_->guarded([this] { run_write(); })); break;
        case detail::TurnEnd::wait_storage: bring_next_piece(); break;
    }
}

// The next piece of a send_file is read into the page cache off the reactor; the send goes on
// from the cache afterwards (a cancel() or the Stream's end meanwhile drops that).
void SocketStream::bring_next_piece() {
    WriteOp& op = state_->write;
    op.waiting = Wait::storage;
    const std::uint64_t at = op.offset + op.done;
    const std::uint64_t until = at + std::min(op.count - op.done, storage_piece);
    op.bring_into_cache(at, until - at, state_->guarded([this, until] {
        state_->write.cached_until = until;
        run_write();
    }));
}

void SocketStream::complete_read(int err, std::uint64_t n) {
    IoDone done = std::move(state_->read.callback);
    state_->read = ReadOp{};
    state_->read_landing = n;
    reactor_.defer(state_->guarded_read([this, done = std::move(done), err, n] {
        state_->read_landing = 0;
        done(sys::from_errno(err), n);
    }));
}

void SocketStream::complete_write(int err, std::uint64_t n) {
    IoDone done = std::move(state_->write.callback);
    state_->write = WriteOp{};
    state_->write_landing = n;
    reactor_.defer(state_->guarded([this, done = std::move(done), err, n] {
        state_->write_landing = 0;
        done(sys::from_errno(err), n);
    }));
}

}  // namespace ferry::net
