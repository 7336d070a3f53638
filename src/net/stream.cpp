// Stream: completion-shaped operations over a non-blocking socket and edge-triggered readiness.
//
// Every operation first tries its syscall right away; on EAGAIN it records which readiness it waits
// for, and the reactor's edge for that direction runs another turn. Today reads wait for readable
// and writes for writable; a TLS stream may wait the other way (SSL_read wanting to write), which
// is why the wait is recorded per operation instead of being implied by its side.
#include "net/stream.hpp"

#include "net/socket_io.hpp"

#include <cerrno>
#include <csignal>
#include <mutex>
#include <sys/socket.h>

namespace ferry::net {
namespace {

enum class Wait { none, readable, writable };

// Completions check this before running: cancel() bumps the generation, destruction frees it.
struct Liveness {
    std::uint64_t generation = 0;
};

// sendfile(2) has no MSG_NOSIGNAL: a peer that resets mid-download would kill the process with
// SIGPIPE. Ignore it once, unless the program installed its own handler.
void ignore_sigpipe_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction current {};
        if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
            ::signal(SIGPIPE, SIG_IGN);
    });
}

}  // namespace

struct Stream::ReadOp {
    enum class Kind { none, read_some, recv_to_file } kind = Kind::none;
    std::span<char> buffer;
    int file_fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t max = 0;
    std::uint64_t done = 0;
    IoDone callback;
    Wait waiting = Wait::none;
};

struct Stream::WriteOp {
    enum class Kind { none, write_all, send_file } kind = Kind::none;
    std::span<const char> buffer;
    int file_fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t count = 0;
    std::uint64_t done = 0;
    IoDone callback;
    Wait waiting = Wait::none;
};

struct Stream::State {
    ReadOp read;
    WriteOp write;
    std::shared_ptr<Liveness> liveness = std::make_shared<Liveness>();
    detail::FileReceiver receiver;

    // Wraps `task` so that it runs only if the stream still exists and was not cancelled since.
    template <class F>
    auto guarded(F task) {
        return [token = std::weak_ptr<Liveness>(liveness), generation = liveness->generation,
                task = std::move(task)]() mutable {
            auto live = token.lock();
            if (!live || live->generation != generation) return;
            task();
        };
    }
};

Stream::Stream(Reactor& reactor, Fd socket)
    : reactor_(reactor),
      socket_(std::move(socket)),
      last_activity_(std::chrono::steady_clock::now()),
      state_(std::make_unique<State>()) {
    ignore_sigpipe_once();
    if (socket_) reactor_.add_fd(socket_.get(), this);
}

Stream::~Stream() {
    if (socket_) reactor_.remove_fd(socket_.get());
}

// ---- starting operations ----

void Stream::read_some(std::span<char> buffer, IoDone done) {
    if (state_->read.kind != ReadOp::Kind::none || buffer.empty()) {
        // A second read, or an empty buffer whose n == 0 would look like EOF: refuse, via the loop.
        const int err = buffer.empty() ? EINVAL : EBUSY;
        reactor_.defer(state_->guarded([done = std::move(done), err] { done(err, 0); }));
        return;
    }
    state_->read = ReadOp{ReadOp::Kind::read_some, buffer, -1, 0, 0, 0, std::move(done), Wait::none};
    run_read();
}

void Stream::recv_to_file(int file_fd, std::uint64_t offset, std::uint64_t max, IoDone done) {
    if (state_->read.kind != ReadOp::Kind::none) {
        reactor_.defer(state_->guarded([done = std::move(done)] { done(EBUSY, 0); }));
        return;
    }
    state_->read = ReadOp{ReadOp::Kind::recv_to_file, {}, file_fd, offset, max, 0, std::move(done), Wait::none};
    state_->receiver.begin();
    run_read();
}

void Stream::write_all(std::span<const char> buffer, IoDone done) {
    if (state_->write.kind != WriteOp::Kind::none) {
        reactor_.defer(state_->guarded([done = std::move(done)] { done(EBUSY, 0); }));
        return;
    }
    state_->write = WriteOp{WriteOp::Kind::write_all, buffer, -1, 0, buffer.size(), 0, std::move(done), Wait::none};
    run_write();
}

void Stream::send_file(int file_fd, std::uint64_t offset, std::uint64_t count, IoDone done) {
    if (state_->write.kind != WriteOp::Kind::none) {
        reactor_.defer(state_->guarded([done = std::move(done)] { done(EBUSY, 0); }));
        return;
    }
    state_->write = WriteOp{WriteOp::Kind::send_file, {}, file_fd, offset, count, 0, std::move(done), Wait::none};
    run_write();
}

void Stream::cancel() {
    ++state_->liveness->generation;  // drops completions and continuations already deferred
    if (state_->read.kind == ReadOp::Kind::recv_to_file) state_->receiver.reset();
    state_->read = ReadOp{};
    state_->write = WriteOp{};
}

void Stream::shutdown_write() { ::shutdown(socket_.get(), SHUT_WR); }

Address Stream::local_address() const { return Address::local_of(socket_.get()); }
Address Stream::peer_address() const { return Address::peer_of(socket_.get()); }

// ---- readiness ----

void Stream::on_readable() {
    // Neither run_* calls a user callback directly (completions are deferred), so `this` stays valid.
    if (state_->read.waiting == Wait::readable) run_read();
    if (state_->write.waiting == Wait::readable) run_write();
}

void Stream::on_writable() {
    if (state_->read.waiting == Wait::writable) run_read();
    if (state_->write.waiting == Wait::writable) run_write();
}

void Stream::on_error() {
    // Let the syscalls report the error (or the data still queued before a hang-up).
    if (state_->read.waiting != Wait::none) run_read();
    if (state_->write.waiting != Wait::none) run_write();
}

// ---- turns ----

void Stream::run_read() {
    ReadOp& op = state_->read;
    op.waiting = Wait::none;
    const std::uint64_t before = op.done;
    detail::Turn turn{detail::TurnEnd::complete};
    if (op.kind == ReadOp::Kind::read_some) {
        turn = detail::recv_turn(socket_.get(), op.buffer, op.done);
    } else if (op.kind == ReadOp::Kind::recv_to_file) {
        turn = state_->receiver.turn(socket_.get(), op.file_fd, op.offset, op.max, op.done);
    } else {
        return;
    }
    if (op.done != before) last_activity_ = std::chrono::steady_clock::now();
    switch (turn.end) {
        case detail::TurnEnd::complete: complete_read(0, op.done); break;
        case detail::TurnEnd::failed: complete_read(turn.err, op.done); break;
        case detail::TurnEnd::would_block: op.waiting = Wait::readable; break;
        case detail::TurnEnd::yield: reactor_.defer(state_->guarded([this] { run_read(); })); break;
    }
}

void Stream::run_write() {
    WriteOp& op = state_->write;
    op.waiting = Wait::none;
    const std::uint64_t before = op.done;
    detail::Turn turn{detail::TurnEnd::complete};
    if (op.kind == WriteOp::Kind::write_all) {
        turn = detail::send_turn(socket_.get(), op.buffer, op.done);
    } else if (op.kind == WriteOp::Kind::send_file) {
        turn = detail::send_file_turn(socket_.get(), op.file_fd, op.offset, op.count, op.done);
    } else {
        return;
    }
    if (op.done != before) last_activity_ = std::chrono::steady_clock::now();
    switch (turn.end) {
        case detail::TurnEnd::complete: complete_write(0, op.done); break;
        case detail::TurnEnd::failed: complete_write(turn.err, op.done); break;
        case detail::TurnEnd::would_block: op.waiting = Wait::writable; break;
        case detail::TurnEnd::yield: reactor_.defer(state_->guarded([this] { run_write(); })); break;
    }
}

void Stream::complete_read(int err, std::uint64_t n) {
    IoDone done = std::move(state_->read.callback);
    state_->read = ReadOp{};
    reactor_.defer(state_->guarded([done = std::move(done), err, n] { done(err, n); }));
}

void Stream::complete_write(int err, std::uint64_t n) {
    IoDone done = std::move(state_->write.callback);
    state_->write = WriteOp{};
    reactor_.defer(state_->guarded([done = std::move(done), err, n] { done(err, n); }));
}

}  // namespace ferry::net
