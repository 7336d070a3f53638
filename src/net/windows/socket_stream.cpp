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
#include "net/stream.hpp"

#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "net/tls_context.hpp"
#include "net/windows/iocp.hpp"
#include "net/windows/sockaddr.hpp"
#include "sys/file.hpp"
#include "sys/windows/wide.hpp"

#include <mswsock.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace ferry::net {
namespace {

using sys::windows::last_socket_error;

constexpr std::size_t control_recv_size = 4u << 10;    // a command line, or a few
constexpr std::size_t bulk_recv_size = 256u << 10;     // uploads, and any TLS stream
constexpr std::size_t output_high_water = 256u << 10;  // stop adding to `output` beyond this
constexpr std::size_t tls_file_chunk = 64u << 10;      // file bytes read per SSL_write round
// TransmitFile takes at most 2,147,483,646 bytes a call; smaller calls also keep in_flight() and
// the data timeout's view of progress fresh.
constexpr std::uint64_t transmit_chunk = 1u << 20;

class WinStream;

struct Transfer final : detail::Completion {
    enum class Kind { recv, send, transmit } kind;
    WinStream* owner;
    std::vector<char> buffer;  // recv: the space given to WSARecv; send: the bytes given to WSASend
    File file;                 // transmit: a duplicate of the caller's handle, for the call's life
    std::uint64_t asked = 0;   // transmit: bytes asked for
    Transfer(Kind kind, WinStream* owner) : kind(kind), owner(owner) {}
    void complete(unsigned long bytes, Error error) override;
};

class WinStream final : public Stream {
public:
    WinStream(Reactor& reactor, Socket socket) : reactor_(reactor), socket_(std::move(socket)) {
        detail::associate(reactor_, reinterpret_cast<HANDLE>(socket_.get()));
        skip_packets_ = detail::skip_packets_on_success(socket_.get());
        last_activity_ = std::chrono::steady_clock::now();
    }
    ~WinStream() override {
        if (recv_) recv_->owner = nullptr;
        if (send_) send_->owner = nullptr;
        socket_.reset();  // cancels both; their packets delete them
        if (tls_) SSL_free(tls_);
    }

    void read_some(std::span<char> buffer, IoDone done) override {
        if (Error err = buffer.empty() ? Error(Errc::invalid) : refusal(true)) return refuse(std::move(done), err);
        read_ = ReadOp{ReadOp::Kind::read_some, buffer, nullptr, 0, 0, 0, std::move(done)};
        schedule();
    }
    void recv_to_file(const File& file, std::uint64_t offset, std::uint64_t max, IoDone done) override {
        if (Error err = refusal(true)) return refuse(std::move(done), err);
        read_ = ReadOp{ReadOp::Kind::recv_to_file, {}, file.get(), offset, max, 0, std::move(done)};
        schedule();
    }
    void write_all(std::span<const char> buffer, IoDone done) override {
        if (Error err = refusal(false)) return refuse(std::move(done), err);
        write_ = WriteOp{WriteOp::Kind::write_all, buffer, nullptr, 0, buffer.size(), 0, 0, std::move(done)};
        schedule();
    }
    void send_file(const File& file, std::uint64_t offset, std::uint64_t count, IoDone done, FileState) override {
        if (Error err = refusal(false)) return refuse(std::move(done), err);
        if (tls_ && !std::exchange(send_path_logged_, true))
            log::info(cat("tls: send_file to ", peer_address().to_string(), " uses SSL_write from buffer"));
        write_ = WriteOp{WriteOp::Kind::send_file, {}, file.get(), offset, count, 0, 0, std::move(done)};
        file_out_.clear();  // nothing of a send_file cancelled earlier goes out with this one
        file_out_pos_ = 0;
        schedule();
    }

    void start_tls(const TlsContext& context, TlsRole role, IoDone done, TlsOptions options) override {
        if (tls_) return refuse(std::move(done), Error(Errc::already));
        if (!context) return refuse(std::move(done), Error(Errc::invalid));
        if (read_.kind != ReadOp::Kind::none || write_.kind != WriteOp::Kind::none)
            return refuse(std::move(done), Error(Errc::busy));
        ERR_clear_error();
        tls_ = SSL_new(context.native());
        BIO* in = BIO_new(BIO_s_mem());
        BIO* out = BIO_new(BIO_s_mem());
        if (!tls_ || !in || !out) {
            log::info(cat("tls: with ", peer_address().to_string(), ": cannot create a TLS connection: ",
                          drain_openssl_errors()));
            BIO_free(in);
            BIO_free(out);
            SSL_free(std::exchange(tls_, nullptr));
            return refuse(std::move(done), Error(Errc::no_memory));
        }
        BIO_set_mem_eof_return(in, -1);  // empty = "wait for more"; EOF is set when the peer closes
        SSL_set_bio(tls_, in, out);
        // As on Linux (net/linux/tls_io.cpp): a bare EOF is a plain end, no record buffers while
        // idle, partial writes so that `done` is exact.
        SSL_set_options(tls_, SSL_OP_IGNORE_UNEXPECTED_EOF);
        SSL_set_mode(tls_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        if (role == TlsRole::server) {
            SSL_set_accept_state(tls_);
        } else {
            SSL_set_connect_state(tls_);
        }
        if (!options.session_tickets) SSL_set_num_tickets(tls_, 0);
        read_ = ReadOp{ReadOp::Kind::tls_handshake, {}, nullptr, 0, 0, 0, std::move(done)};
        schedule();
    }
    void shutdown_tls(IoDone done) override {
        if (write_.kind != WriteOp::Kind::none || read_.kind == ReadOp::Kind::tls_handshake)
            return refuse(std::move(done), Error(Errc::busy));
        if (!tls_) return refuse(std::move(done), Error{});
        write_ = WriteOp{WriteOp::Kind::tls_close_notify, {}, nullptr, 0, 0, 0, 0, std::move(done)};
        schedule();
    }
    bool is_tls() const override { return tls_ != nullptr; }
    std::string tls_description() const override {
        return tls_ && established_ ? std::string(SSL_get_version(tls_)) + " " + SSL_get_cipher_name(tls_) : std::string();
    }
    std::string tag_tls_session() override { return tls_ ? tag_control_session(tls_) : std::string(); }
    bool tls_resumed_from(std::string_view control_tag) const override {
        return tls_ && resumed_from(tls_, control_tag);
    }
    bool ktls_send() const override { return false; }  // kTLS is Linux's

    void cancel() override {
        lifetime_.renew();
        if (tls_ && write_.kind != WriteOp::Kind::none && write_pending_) writes_poisoned_ = true;
        // A file still going out must stop now (ABOR): the send side is the file's, not ours.
        if (send_ && send_->kind == Transfer::Kind::transmit)
            CancelIoEx(reinterpret_cast<HANDLE>(socket_.get()), send_->overlapped());
        read_ = ReadOp{};
        write_ = WriteOp{};
    }
    void cancel_read() override {
        if (read_.kind == ReadOp::Kind::tls_handshake) return;  // only cancel() stops a handshake
        read_lifetime_.renew();
        read_ = ReadOp{};
    }
    void shutdown_write() override { ::shutdown(socket_.get(), SD_SEND); }
    Address local_address() const override { return detail::local_of(socket_.get()); }
    Address peer_address() const override { return detail::peer_of(socket_.get()); }
    std::uint64_t in_flight() const override { return read_.done + write_.done; }
    std::chrono::steady_clock::time_point last_activity() const override { return last_activity_; }

    // ---- the transport's completions (from Transfer::complete) ----
    void received(Transfer* transfer, unsigned long bytes, const Error& error) {
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
    void sent(Transfer* transfer, unsigned long bytes, const Error& error) {
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

private:
    struct ReadOp {
        enum class Kind { none, read_some, recv_to_file, tls_handshake } kind = Kind::none;
        std::span<char> buffer;
        HANDLE file = nullptr;
        std::uint64_t offset = 0;
        std::uint64_t max = 0;
        std::uint64_t done = 0;
        IoDone callback;
    };
    struct WriteOp {
        enum class Kind { none, write_all, send_file, tls_close_notify } kind = Kind::none;
        std::span<const char> buffer;
        HANDLE file = nullptr;
        std::uint64_t offset = 0;
        std::uint64_t count = 0;
        std::uint64_t done = 0;    // bytes that left (plain), or that SSL_write took (TLS)
        std::uint64_t queued = 0;  // write_all: bytes of `buffer` put into `output`
        IoDone callback;
        bool file_ended = false;   // send_file: the file was shorter than asked
        bool alert_queued = false; // close_notify: SSL_shutdown ran
    };
    enum class Step { wait, again };

    Error refusal(bool read_side) const {
        const bool busy = read_side ? read_.kind != ReadOp::Kind::none : write_.kind != WriteOp::Kind::none;
        if (busy || read_.kind == ReadOp::Kind::tls_handshake) return Error(Errc::busy);
        if (tls_ && !established_) return Error(Errc::not_connected);
        return {};
    }
    void refuse(IoDone done, Error err) {
        reactor_.defer(lifetime_.guard([done = std::move(done), err] { done(err, 0); }));
    }
    // Operations start from the loop, like every completion.
    void schedule() { reactor_.defer(lifetime_.guard([this] { advance(); })); }

    void advance() {
        advance_read();
        advance_write();
        start_send();
    }

    // ---- the read side ----
    std::size_t input_left() const { return input_.size() - input_pos_; }
    void take_input(std::size_t n) {
        input_pos_ += n;
        if (input_pos_ == input_.size()) input_pos_ = 0, input_.clear();
    }

    void advance_read() {
        switch (read_.kind) {
            case ReadOp::Kind::none: return;
            case ReadOp::Kind::read_some: return tls_ ? tls_read_some() : plain_read_some();
            case ReadOp::Kind::recv_to_file: return tls_ ? tls_recv_to_file() : plain_recv_to_file();
            case ReadOp::Kind::tls_handshake: return handshake();
        }
    }

    void plain_read_some() {
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

    void plain_recv_to_file() {
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

    Error write_to_file(std::span<const char> data) {
        // The reactor thread writes, as pwrite does on Linux: a regular file on a local disk.
        File borrowed(read_.file);
        std::uint64_t wrote = 0;
        const Status err = sys::write_all_at(borrowed, data, read_.offset + read_.done, wrote);
        borrowed.release();
        read_.done += wrote;
        return err;
    }

    // ---- TLS over the memory BIOs ----
    // Moves received ciphertext into the SSL; true if there was any.
    bool feed_tls() {
        if (input_left() == 0) {
            if (input_eof_ || input_error_) BIO_set_mem_eof_return(SSL_get_rbio(tls_), 0);
            return false;
        }
        BIO_write(SSL_get_rbio(tls_), input_.data() + input_pos_, static_cast<int>(input_left()));
        take_input(input_left());
        return true;
    }
    // Ciphertext the SSL produced, into `output`.
    void drain_tls() {
        BIO* out = SSL_get_wbio(tls_);
        while (const std::size_t pending = BIO_ctrl_pending(out)) {
            const std::size_t at = output_.size();
            output_.resize(at + pending);
            const int n = BIO_read(out, output_.data() + at, static_cast<int>(pending));
            output_.resize(at + static_cast<std::size_t>(n > 0 ? n : 0));
        }
    }
    // What an SSL call that did not succeed means: again (more input was fed), wait (a receive is
    // posted), eof (close_notify or a bare EOF), or failed (tls_error_ and failure_ say why).
    enum class TlsStop { again, wait, eof, failed };
    TlsStop classify(int result) {
        const int code = SSL_get_error(tls_, result);
        if (code == SSL_ERROR_WANT_READ) {
            if (feed_tls()) return TlsStop::again;
            if (input_error_) return failure(input_error_.message(), input_error_);
            // The EOF just set on the BIO: the next call says what it means; asked again, it is over.
            if (input_eof_) return std::exchange(eof_fed_, true) ? failure("connection closed by the peer", Error(Errc::reset))
                                                                  : TlsStop::again;
            start_recv(bulk_recv_size);
            return TlsStop::wait;
        }
        if (code == SSL_ERROR_ZERO_RETURN) return TlsStop::eof;
        if (code == SSL_ERROR_SYSCALL && input_eof_) {
            fatal_ = true;
            failure_ = "connection closed by the peer";
            ERR_clear_error();
            tls_error_ = Error(Errc::reset);
            return TlsStop::failed;
        }
        fatal_ = true;
        failure_ = drain_openssl_errors();
        tls_error_ = Error(Errc::protocol);
        return TlsStop::failed;
    }
    TlsStop failure(std::string why, Error err) {
        fatal_ = true;
        failure_ = std::move(why);
        tls_error_ = err;
        return TlsStop::failed;
    }
    void log_tls_failure(const char* during) const {
        log::info(cat("tls: ", during, " with ", peer_address().to_string(), " failed: ", failure_));
    }

    void handshake() {
        for (;;) {
            ERR_clear_error();
            const int result = SSL_do_handshake(tls_);
            drain_tls();
            if (result == 1) {
                established_ = true;
                return complete_read(Error{}, 0);
            }
            const TlsStop stop = classify(result);
            if (stop == TlsStop::again) continue;
            if (stop == TlsStop::wait) return;
            if (stop == TlsStop::eof) failure("connection closed by the peer during the handshake", Error(Errc::reset));
            log_tls_failure("handshake");
            return complete_read(tls_error_, 0);
        }
    }

    void tls_read_some() {
        for (;;) {
            std::size_t n = 0;
            ERR_clear_error();
            const int result = SSL_read_ex(tls_, read_.buffer.data(), read_.buffer.size(), &n);
            drain_tls();  // TLS 1.3 may answer a KeyUpdate
            if (result == 1) return complete_read(Error{}, n);
            const TlsStop stop = classify(result);
            if (stop == TlsStop::again) continue;
            if (stop == TlsStop::wait) return;
            if (stop == TlsStop::eof) return complete_read(Error{}, 0);
            log_tls_failure("read");
            return complete_read(tls_error_, 0);
        }
    }

    void tls_recv_to_file() {
        if (file_in_.empty()) file_in_.resize(bulk_recv_size);
        for (;;) {
            // Gather records until the buffer is full or the SSL stops, then one write.
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(read_.max - read_.done, file_in_.size()));
            if (want == 0) return complete_read(Error{}, read_.done);
            std::size_t filled = 0;
            TlsStop stop = TlsStop::again;
            while (filled < want) {
                std::size_t n = 0;
                ERR_clear_error();
                const int result = SSL_read_ex(tls_, file_in_.data() + filled, want - filled, &n);
                if (result == 1) {
                    filled += n;
                    continue;
                }
                stop = classify(result);
                if (stop != TlsStop::again) break;
            }
            drain_tls();
            if (Error err = write_to_file({file_in_.data(), filled})) return complete_read(err, read_.done);
            if (filled == want) continue;
            if (stop == TlsStop::wait) return;
            if (stop == TlsStop::eof) return complete_read(Error{}, read_.done);
            log_tls_failure("read");
            return complete_read(tls_error_, read_.done);
        }
    }

    // ---- the write side ----
    bool output_idle() const { return output_.empty() && !send_; }

    void advance_write() {
        if (write_.kind == WriteOp::Kind::none) return;
        if (send_error_) return complete_write(send_error_, write_.done);
        switch (write_.kind) {
            case WriteOp::Kind::none: return;
            case WriteOp::Kind::write_all: return tls_ ? tls_write_all() : plain_write_all();
            case WriteOp::Kind::send_file: return tls_ ? tls_send_file() : plain_send_file();
            case WriteOp::Kind::tls_close_notify: return close_notify();
        }
    }

    void plain_write_all() {
        while (write_.queued < write_.count && output_.size() < output_high_water) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(write_.count - write_.queued, output_high_water));
            output_.insert(output_.end(), write_.buffer.data() + write_.queued, write_.buffer.data() + write_.queued + n);
            write_.queued += n;
        }
        write_.done = write_.queued - std::min<std::uint64_t>(write_.queued, output_.size() + in_transit_);
        if (write_.queued == write_.count && output_idle()) complete_write(Error{}, write_.count);
    }

    void plain_send_file() {
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

    // One SSL_write; false when writing is over (the error is in tls_error_).
    bool tls_write(const char* data, std::size_t size, std::size_t& took) {
        if (writes_poisoned_) {
            tls_error_ = Error(Errc::broken_pipe);
            return false;
        }
        ERR_clear_error();
        const int result = SSL_write_ex(tls_, data, size, &took);
        drain_tls();
        if (result == 1) {
            write_pending_ = false;
            return true;
        }
        took = 0;
        if (classify(result) != TlsStop::failed) tls_error_ = Error(Errc::broken_pipe);
        return false;
    }

    void tls_write_all() {
        while (write_.done < write_.count && output_.size() < output_high_water) {
            std::size_t took = 0;
            const auto rest = static_cast<std::size_t>(write_.count - write_.done);
            if (!tls_write(write_.buffer.data() + write_.done, rest, took)) return complete_write(tls_error_, write_.done);
            write_.done += took;
        }
        if (write_.done == write_.count && output_idle()) complete_write(Error{}, write_.done);
    }

    void tls_send_file() {
        File borrowed(write_.file);
        while (!write_.file_ended && write_.done < write_.count && output_.size() < output_high_water) {
            if (file_out_pos_ == file_out_.size()) {
                file_out_.resize(tls_file_chunk);
                const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(write_.count - write_.done, tls_file_chunk));
                const auto got = sys::read_at(borrowed, {file_out_.data(), want}, write_.offset + write_.done);
                if (!got) {
                    borrowed.release();
                    return complete_write(got.error(), write_.done);
                }
                file_out_.resize(*got);
                file_out_pos_ = 0;
                if (*got == 0) write_.file_ended = true;
                continue;
            }
            std::size_t took = 0;
            if (!tls_write(file_out_.data() + file_out_pos_, file_out_.size() - file_out_pos_, took)) {
                borrowed.release();
                return complete_write(tls_error_, write_.done);
            }
            file_out_pos_ += took;
            write_.done += took;
        }
        borrowed.release();
        if ((write_.file_ended || write_.done == write_.count) && output_idle()) {
            file_out_.clear();
            file_out_pos_ = 0;
            complete_write(Error{}, write_.done);
        }
    }

    void close_notify() {
        if (!write_.alert_queued) {
            if (!established_ || fatal_) return complete_write(Error(Errc::not_connected), 0);
            if (writes_poisoned_) return complete_write(Error(Errc::broken_pipe), 0);
            ERR_clear_error();
            SSL_shutdown(tls_);  // queues the alert in the memory BIO; the peer's is not awaited
            drain_tls();
            write_.alert_queued = true;
        }
        if (output_idle()) complete_write(Error{}, 0);
    }

    // ---- the transport ----
    void start_recv(std::size_t size) {
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
    void finished_at_once(Transfer* transfer, DWORD bytes) {
        if (!skip_packets_) return;
        reactor_.defer([transfer, bytes] { transfer->complete(bytes, Error{}); });
    }

    void start_send() {
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

    // ---- completions, always through the loop ----
    void complete_read(Error err, std::uint64_t n) {
        IoDone done = std::move(read_.callback);
        read_ = ReadOp{};
        reactor_.defer(lifetime_.guard(read_lifetime_.guard([done = std::move(done), err, n] { done(err, n); })));
    }
    void complete_write(Error err, std::uint64_t n) {
        IoDone done = std::move(write_.callback);
        write_ = WriteOp{};
        reactor_.defer(lifetime_.guard([done = std::move(done), err, n] { done(err, n); }));
    }

    Reactor& reactor_;
    Socket socket_;
    std::chrono::steady_clock::time_point last_activity_;
    ReadOp read_;
    WriteOp write_;

    Transfer* recv_ = nullptr;
    std::vector<char> input_;
    std::size_t input_pos_ = 0;
    bool input_eof_ = false;
    Error input_error_;

    Transfer* send_ = nullptr;
    std::vector<char> output_;
    std::uint64_t in_transit_ = 0;  // bytes of WSASends not completed yet
    Error send_error_;
    bool peer_reset_ = false;  // a transmit was cancelled because the peer reset
    bool skip_packets_ = false;  // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is on
    bool eof_fed_ = false;       // the SSL was told of the peer's EOF

    SSL* tls_ = nullptr;
    bool established_ = false;
    bool fatal_ = false;
    bool write_pending_ = false;
    bool writes_poisoned_ = false;
    bool send_path_logged_ = false;
    std::string failure_;
    Error tls_error_;
    std::vector<char> file_in_;
    std::vector<char> file_out_;
    std::size_t file_out_pos_ = 0;

    Lifetime lifetime_;
    Lifetime read_lifetime_;
};

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

}  // namespace

std::unique_ptr<Stream> make_stream(Reactor& reactor, Socket socket) {
    return std::make_unique<WinStream>(reactor, std::move(socket));
}

}  // namespace ferry::net
