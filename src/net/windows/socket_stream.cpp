// The Windows Stream: overlapped WSARecv / WSASend / TransmitFile on the reactor's completion port.
//
// Two layers. Below, the transport: at most one WSARecv and one send (WSASend or TransmitFile) in
// flight, each a Transfer that owns its buffer, so that nothing the kernel still writes into or
// reads from can be freed under it; received bytes wait in `input`, bytes to send in `output`.
// Above, the operations of stream.hpp, advanced by `advance()` after every completion: they take
// from `input` and add to `output`, directly on a plain stream, through an SSL over memory BIOs on
// a TLS one (the Linux backend puts its SSL on the socket itself, for kTLS). A recv stays posted
// across cancel_read(): what it brings is kept for the next read, so an AUTH TLS never loses the
// ClientHello that follows it.
#include "net/windows/socket_stream.hpp"

#include "base/log.hpp"
#include "sys/file.hpp"
#include "sys/windows/wide.hpp"

#include <mswsock.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

namespace ferry::net {
namespace detail {

using sys::windows::last_socket_error;

WinStream::WinStream(Reactor& reactor, Socket socket) : reactor_(reactor), socket_(std::move(socket)) {
    associate(reactor_, reinterpret_cast<HANDLE>(socket_.get()));
    skip_packets_ = skip_packets_on_success(socket_.get());
    last_activity_ = std::chrono::steady_clock::now();
}

WinStream::~WinStream() {
    if (recv_) recv_->owner = nullptr;
    if (send_) send_->owner = nullptr;
    socket_.reset();  // cancels both; their packets delete them
    if (tls_) SSL_free(tls_);
}

void WinStream::read_some(std::span<char> buffer, IoDone done) {
    if (Error err = buffer.empty() ? Error(Errc::invalid) : refusal(true)) return refuse(std::move(done), err);
    read_ = ReadOp{ReadOp::Kind::read_some, buffer, nullptr, 0, 0, 0, std::move(done)};
    schedule();
}

void WinStream::recv_to_file(const File& file, std::uint64_t offset, std::uint64_t max, IoDone done) {
    if (Error err = refusal(true)) return refuse(std::move(done), err);
    read_ = ReadOp{ReadOp::Kind::recv_to_file, {}, file.get(), offset, max, 0, std::move(done)};
    schedule();
}

void WinStream::write_all(std::span<const char> buffer, IoDone done) {
    if (Error err = refusal(false)) return refuse(std::move(done), err);
    write_ = WriteOp{WriteOp::Kind::write_all, buffer, nullptr, 0, buffer.size(), 0, 0, std::move(done)};
    schedule();
}

// TransmitFile reads the file overlapped: the reactor never waits for it, so nothing is brought in.
void WinStream::send_file(const File& file, std::uint64_t offset, std::uint64_t count, IoDone done, FileState,
                          BringIntoCache) {
    if (Error err = refusal(false)) return refuse(std::move(done), err);
    write_ = WriteOp{WriteOp::Kind::send_file, {}, file.get(), offset, count, 0, 0, std::move(done)};
    file_out_.clear();  // nothing of a send_file cancelled earlier goes out with this one
    file_out_pos_ = 0;
    schedule();
}

void WinStream::cancel() {
    // No half-written TLS record can be left behind: SSL_write puts whole records into the
    // memory BIO, so unlike on Linux a later write is never poisoned by a cancelled one.
    lifetime_.renew();
    // A file still going out must stop now (ABOR): the send side is the file's, not ours.
    if (send_ && send_->kind == Transfer::Kind::transmit)
        CancelIoEx(reinterpret_cast<HANDLE>(socket_.get()), send_->overlapped());
    read_ = ReadOp{};
    write_ = WriteOp{};
    read_landing_ = write_landing_ = 0;
}

void WinStream::cancel_read() {
    if (read_.kind == ReadOp::Kind::tls_handshake) return;  // only cancel() stops a handshake
    read_lifetime_.renew();
    read_ = ReadOp{};
    read_landing_ = 0;
}

void WinStream::received(Transfer* transfer, unsigned long bytes, const Error& error) {
    std::unique_ptr<Transfer> done(transfer);
    recv_ = nullptr;
    if (error) {
        input_error_ = error;
    } else if (bytes == 0) {
        input_eof_ = true;
    } else {
        last_activity_ = std::chrono::steady_clock::now();
        transfer->buffer.resize(bytes);
        if (input_pos_ == input_.size()) {
            input_.swap(transfer->buffer);  // the common case: no copy
            input_pos_ = 0;
        } else {
            input_.insert(input_.end(), transfer->buffer.begin(), transfer->buffer.end());
        }
    }
    // The peer closed or reset the connection while a file goes out. A download's client
    // never closes its side before it has everything, so it is gone: stop the TransmitFile,
    // which under wine would otherwise wait for the data timeout (it sees no reset itself).
    if ((error || bytes == 0) && error != Errc::cancelled && send_ && send_->kind == Transfer::Kind::transmit) {
        peer_reset_ = true;
        CancelIoEx(reinterpret_cast<HANDLE>(socket_.get()), send_->overlapped());
    }
    advance();
}

void WinStream::sent(Transfer* transfer, unsigned long bytes, const Error& error) {
    std::unique_ptr<Transfer> done(transfer);
    send_ = nullptr;
    if (bytes) last_activity_ = std::chrono::steady_clock::now();
    if (transfer->kind == Transfer::Kind::transmit) {
        if (error && error != Errc::cancelled) send_error_ = error;
        if (error == Errc::cancelled && peer_reset_) send_error_ = Error(Errc::reset);
        if (write_.kind == WriteOp::Kind::send_file) {
            write_.done += bytes;
            write_.file_ended = !error && bytes < transfer->asked;
        }
    } else if (error) {
        send_error_ = error;
    } else {
        in_transit_ -= transfer->buffer.size();
        if (bytes < transfer->buffer.size())  // never seen with overlapped sends; kept exact anyway
            output_.insert(output_.begin(), transfer->buffer.begin() + bytes, transfer->buffer.end());
        in_transit_ += transfer->buffer.size() - bytes;
    }
    advance();
}

Error WinStream::refusal(bool read_side) const {
    const bool busy = read_side ? read_.kind != ReadOp::Kind::none : write_.kind != WriteOp::Kind::none;
    if (busy || read_.kind == ReadOp::Kind::tls_handshake) return Error(Errc::busy);
    if (tls_ && !established_) return Error(Errc::not_connected);
    return {};
}

void WinStream::refuse(IoDone done, Error err) {
    reactor_.defer(lifetime_.guard([done = std::move(done), err] { done(err, 0); }));
}

void WinStream::advance() {
    advance_read();
    advance_write();
    start_send();
}

void WinStream::take_input(std::size_t n) {
    input_pos_ += n;
    if (input_pos_ == input_.size()) input_pos_ = 0, input_.clear();
}

void WinStream::advance_read() {
    switch (read_.kind) {
        case ReadOp::Kind::none: return;
        case ReadOp::Kind::read_some: return tls_ ? tls_read_some() : plain_read_some();
        case ReadOp::Kind::recv_to_file: return tls_ ? tls_recv_to_file() : plain_recv_to_file();
        case ReadOp::Kind::tls_handshake: return handshake();
    }
}

void WinStream::plain_read_some() {
    if (input_left() > 0) {
        const std::size_t n = std::min(input_left(), read_.buffer.size());
        std::memcpy(read_.buffer.data(), input_.data() + input_pos_, n);
        take_input(n);
        return complete_read(Error{}, n);
    }
    if (input_error_) return complete_read(input_error_, 0);
    if (input_eof_) return complete_read(Error{}, 0);
    start_recv(std::max(control_recv_size, std::min(read_.buffer.size(), bulk_recv_size)));
}

void WinStream::plain_recv_to_file() {
    while (input_left() > 0 && read_.done < read_.max) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(input_left(), read_.max - read_.done));
        if (Error err = write_to_file({input_.data() + input_pos_, n})) return complete_read(err, read_.done);
        take_input(n);
    }
    if (read_.done == read_.max) return complete_read(Error{}, read_.done);
    if (input_error_) return complete_read(input_error_, read_.done);
    if (input_eof_) return complete_read(Error{}, read_.done);
    // Never ask for more than `max`: what lies beyond belongs to no one yet (a quota's edge).
    start_recv(static_cast<std::size_t>(std::min<std::uint64_t>(bulk_recv_size, read_.max - read_.done)));
}

Error WinStream::write_to_file(std::span<const char> data) {
    // The reactor thread writes bytes just received, as pwrite does on Linux: they go to the cache.
    File borrowed(read_.file);
    std::uint64_t wrote = 0;
    const Status err = sys::write_received_at(borrowed, data, read_.offset + read_.done, wrote);
    borrowed.release();
    read_.done += wrote;
    return err;
}

void WinStream::advance_write() {
    if (write_.kind == WriteOp::Kind::none) return;
    if (send_error_) return complete_write(send_error_, write_.done);
    switch (write_.kind) {
        case WriteOp::Kind::none: return;
        case WriteOp::Kind::write_all: return tls_ ? tls_write_all() : plain_write_all();
        case WriteOp::Kind::send_file: return tls_ ? tls_send_file() : plain_send_file();
        case WriteOp::Kind::tls_close_notify: return close_notify();
    }
}

void WinStream::plain_write_all() {
    while (write_.queued < write_.count && output_.size() < output_high_water) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(write_.count - write_.queued, output_high_water));
        output_.insert(output_.end(), write_.buffer.data() + write_.queued, write_.buffer.data() + write_.queued + n);
        write_.queued += n;
    }
    write_.done = write_.queued - std::min<std::uint64_t>(write_.queued, output_.size() + in_transit_);
    if (write_.queued == write_.count && output_idle()) complete_write(Error{}, write_.count);
}

void WinStream::plain_send_file() {
    if (!output_idle()) return;  // whatever was written before goes first
    if (write_.file_ended || write_.done >= write_.count) return complete_write(Error{}, write_.done);
    auto transfer = std::make_unique<Transfer>(Transfer::Kind::transmit, this);
    HANDLE copy = nullptr;
    if (!DuplicateHandle(GetCurrentProcess(), write_.file, GetCurrentProcess(), &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
        return complete_write(sys::windows::last_win32_error(), write_.done);
    transfer->file.reset(copy);
    transfer->asked = std::min(write_.count - write_.done, transmit_chunk);
    const std::uint64_t at = write_.offset + write_.done;
    transfer->overlapped()->Offset = static_cast<DWORD>(at);
    transfer->overlapped()->OffsetHigh = static_cast<DWORD>(at >> 32);
    // The OVERLAPPED offset is what Windows reads from for a handle opened for overlapped I/O;
    // ours are synchronous (so that ReadFile at an offset works anywhere), and for those
    // TransmitFile (and wine's) starts at the file pointer: put it there too.
    LARGE_INTEGER position{};
    position.QuadPart = static_cast<LONGLONG>(at);
    if (!SetFilePointerEx(copy, position, nullptr, FILE_BEGIN))
        return complete_write(sys::windows::last_win32_error(), write_.done);
    const bool at_once =
        ::TransmitFile(socket_.get(), copy, static_cast<DWORD>(transfer->asked), 0, transfer->overlapped(), nullptr, 0);
    if (!at_once && WSAGetLastError() != ERROR_IO_PENDING) return complete_write(last_socket_error(), write_.done);
    send_ = transfer.release();
    if (at_once) {
        DWORD sent = 0, flags = 0;
        ::WSAGetOverlappedResult(socket_.get(), send_->overlapped(), &sent, FALSE, &flags);
        finished_at_once(send_, sent);
    }
    // A download's client sends nothing on the data connection: a receive posted meanwhile
    // completes only when the peer goes (see received()).
    if (read_.kind == ReadOp::Kind::none) start_recv(1);
}

void WinStream::start_recv(std::size_t size) {
    if (recv_ || input_eof_ || input_error_) return;
    auto transfer = std::make_unique<Transfer>(Transfer::Kind::recv, this);
    transfer->buffer.resize(size);
    WSABUF buffer{static_cast<ULONG>(size), transfer->buffer.data()};
    DWORD flags = 0;
    DWORD got = 0;
    const int result = ::WSARecv(socket_.get(), &buffer, 1, &got, &flags, transfer->overlapped(), nullptr);
    if (result != 0 && WSAGetLastError() != WSA_IO_PENDING) {
        input_error_ = last_socket_error();
        return schedule();
    }
    recv_ = transfer.release();
    if (result == 0) finished_at_once(recv_, got);
}

// An operation that succeeded at once on a socket in skip mode queues no packet: it is
// completed from the loop as if one had come (never from inside the call that started it).
// Not guarded: if the stream is gone by then, complete() finds the Transfer orphaned and
// frees it, as a packet would.
void WinStream::finished_at_once(Transfer* transfer, DWORD bytes) {
    if (!skip_packets_) return;
    reactor_.defer([transfer, bytes] { transfer->complete(bytes, Error{}); });
}

void WinStream::start_send() {
    if (send_ || output_.empty() || send_error_) return;
    auto transfer = std::make_unique<Transfer>(Transfer::Kind::send, this);
    transfer->buffer.swap(output_);
    in_transit_ += transfer->buffer.size();
    WSABUF buffer{static_cast<ULONG>(transfer->buffer.size()), transfer->buffer.data()};
    DWORD sent = 0;
    const int result = ::WSASend(socket_.get(), &buffer, 1, &sent, 0, transfer->overlapped(), nullptr);
    if (result != 0 && WSAGetLastError() != WSA_IO_PENDING) {
        send_error_ = last_socket_error();
        in_transit_ -= transfer->buffer.size();
        return schedule();
    }
    send_ = transfer.release();
    if (result == 0) finished_at_once(send_, sent);
}

void WinStream::complete_read(Error err, std::uint64_t n) {
    IoDone done = std::move(read_.callback);
    read_ = ReadOp{};
    read_landing_ = n;
    reactor_.defer(lifetime_.guard(read_lifetime_.guard([this, done = std::move(done), err, n] {
        read_landing_ = 0;
        done(err, n);
    })));
}

void WinStream::complete_write(Error err, std::uint64_t n) {
    IoDone done = std::move(write_.callback);
    write_ = WriteOp{};
    write_landing_ = n;
    reactor_.defer(lifetime_.guard([this, done = std::move(done), err, n] {
        write_landing_ = 0;
        done(err, n);
    }));
}


void Transfer::complete(unsigned long bytes, Error error) {
    if (!owner) {
        delete this;  // the stream is gone
        return;
    }
    if (kind == Kind::recv) {
        owner->received(this, bytes, error);
    } else {
        owner->sent(this, bytes, error);
    }
}

}  // namespace detail

bool kernel_tls_available() { return false; }

std::unique_ptr<Stream> make_stream(Reactor& reactor, Socket socket) {
    return std::make_unique<detail::WinStream>(reactor, std::move(socket));
}

}  // namespace ferry::net
