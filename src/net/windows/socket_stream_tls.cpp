// The Windows Stream's TLS (see socket_stream.hpp): an SSL over two memory BIOs, fed from the
// transport's `input` and drained into its `output`. The same settings, session-reuse checks and
// replies as the Linux backend's TlsIo, which puts its SSL on the socket instead (for kTLS).
#include "net/windows/socket_stream.hpp"

#include "base/log.hpp"
#include "net/tls_context.hpp"
#include "sys/file.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <utility>

namespace ferry::net::detail {

void WinStream::start_tls(const TlsContext& context, TlsRole role, IoDone done, TlsOptions options) {
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

void WinStream::shutdown_tls(IoDone done) {
    if (write_.kind != WriteOp::Kind::none || read_.kind == ReadOp::Kind::tls_handshake)
        return refuse(std::move(done), Error(Errc::busy));
    if (!tls_) return refuse(std::move(done), Error{});
    write_ = WriteOp{WriteOp::Kind::tls_close_notify, {}, nullptr, 0, 0, 0, 0, std::move(done)};
    schedule();
}

std::string WinStream::tls_description() const {
    return tls_ && established_ ? std::string(SSL_get_version(tls_)) + " " + SSL_get_cipher_name(tls_) : std::string();
}

bool WinStream::tls_resumed_from(std::string_view control_tag) const {
    return tls_ && resumed_from(tls_, control_tag);
}

// Moves received ciphertext into the SSL; true if there was any.
bool WinStream::feed_tls() {
    if (input_left() == 0) {
        if (input_eof_ || input_error_) BIO_set_mem_eof_return(SSL_get_rbio(tls_), 0);
        return false;
    }
    BIO_write(SSL_get_rbio(tls_), input_.data() + input_pos_, static_cast<int>(input_left()));
    take_input(input_left());
    return true;
}

// Ciphertext the SSL produced, into `output`.
void WinStream::drain_tls() {
    BIO* out = SSL_get_wbio(tls_);
    while (const std::size_t pending = BIO_ctrl_pending(out)) {
        const std::size_t at = output_.size();
        output_.resize(at + pending);
        const int n = BIO_read(out, output_.data() + at, static_cast<int>(pending));
        output_.resize(at + static_cast<std::size_t>(n > 0 ? n : 0));
    }
}

WinStream::TlsStop WinStream::classify(int result) {
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

WinStream::TlsStop WinStream::failure(std::string why, Error err) {
    fatal_ = true;
    failure_ = std::move(why);
    tls_error_ = err;
    return TlsStop::failed;
}

void WinStream::log_tls_failure(const char* during) const {
    log::info(cat("tls: ", during, " with ", peer_address().to_string(), " failed: ", failure_));
}

void WinStream::handshake() {
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

void WinStream::tls_read_some() {
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

void WinStream::tls_recv_to_file() {
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

// One SSL_write; false when writing is over (the error is in tls_error_).
bool WinStream::tls_write(const char* data, std::size_t size, std::size_t& took) {
    ERR_clear_error();
    const int result = SSL_write_ex(tls_, data, size, &took);
    drain_tls();
    if (result == 1) return true;
    took = 0;
    if (classify(result) != TlsStop::failed) tls_error_ = Error(Errc::broken_pipe);
    return false;
}

void WinStream::tls_write_all() {
    while (write_.done < write_.count && output_.size() < output_high_water) {
        std::size_t took = 0;
        const auto rest = static_cast<std::size_t>(write_.count - write_.done);
        if (!tls_write(write_.buffer.data() + write_.done, rest, took)) return complete_write(tls_error_, write_.done);
        write_.done += took;
    }
    if (write_.done == write_.count && output_idle()) complete_write(Error{}, write_.done);
}

// The Stream contract's send_file on a TLS stream: read_at here, on the reactor. ferryd's downloads
// do not come here (Windows has no kTLS): proto/transfer.cpp reads their blocks on the I/O pool
// and writes them with write_all.
void WinStream::tls_send_file() {
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

void WinStream::close_notify() {
    if (!write_.alert_queued) {
        if (!established_ || fatal_) return complete_write(Error(Errc::not_connected), 0);
        ERR_clear_error();
        SSL_shutdown(tls_);  // queues the alert in the memory BIO; the peer's is not awaited
        drain_tls();
        write_.alert_queued = true;
    }
    if (output_idle()) complete_write(Error{}, 0);
}

}  // namespace ferry::net::detail
