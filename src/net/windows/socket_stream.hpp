// Private to src/net/windows: the Windows Stream (see socket_stream.cpp for how it works), split
// by job: the transport and the plain operations in socket_stream.cpp, TLS over memory BIOs in
// socket_stream_tls.cpp.
#pragma once
#include "base/lifetime.hpp"
#include "net/stream.hpp"
#include "net/tls_context.hpp"
#include "net/windows/iocp.hpp"
#include "net/windows/sockaddr.hpp"

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::net::detail {

inline constexpr std::size_t control_recv_size = 4u << 10;    // a command line, or a few
inline constexpr std::size_t bulk_recv_size = 256u << 10;     // uploads, and any TLS stream
inline constexpr std::size_t output_high_water = 256u << 10;  // stop adding to `output` beyond this
inline constexpr std::size_t tls_file_chunk = 64u << 10;      // file bytes read per SSL_write round
// TransmitFile takes at most 2,147,483,646 bytes a call; smaller calls also keep in_flight() and
// the data timeout's view of progress fresh.
inline constexpr std::uint64_t transmit_chunk = 1u << 20;

class WinStream;

// One overlapped receive, send or TransmitFile, owning what the kernel uses until its packet.
struct Transfer final : Completion {
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
    WinStream(Reactor& reactor, Socket socket);
    ~WinStream() override;

    void read_some(std::span<char> buffer, IoDone done) override;
    void recv_to_file(const File& file, std::uint64_t offset, std::uint64_t max, IoDone done) override;
    void write_all(std::span<const char> buffer, IoDone done) override;
    void send_file(const File& file, std::uint64_t offset, std::uint64_t count, IoDone done, FileState,
                   BringIntoCache) override;

    void start_tls(const TlsContext& context, TlsRole role, IoDone done, TlsOptions options) override;
    void shutdown_tls(IoDone done) override;
    bool is_tls() const override { return tls_ != nullptr; }
    std::string tls_description() const override;
    std::string tag_tls_session() override { return tls_ ? tag_control_session(tls_) : std::string(); }
    bool tls_resumed_from(std::string_view control_tag) const override;
    void offer_tls_ticket() override {
        if (tls_) offer_session_ticket(tls_);
    }
    bool ktls_send() const override { return false; }  // kTLS is Linux's

    void cancel() override;
    void cancel_read() override;
    void shutdown_write() override { ::shutdown(socket_.get(), SD_SEND); }
    Address local_address() const override { return local_of(socket_.get()); }
    Address peer_address() const override { return peer_of(socket_.get()); }
    std::uint64_t in_flight() const override { return read_.done + write_.done + read_landing_ + write_landing_; }
    std::chrono::steady_clock::time_point last_activity() const override { return last_activity_; }

    // ---- the transport's completions (from Transfer::complete) ----
    void received(Transfer* transfer, unsigned long bytes, const Error& error);
    void sent(Transfer* transfer, unsigned long bytes, const Error& error);

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
    Error refusal(bool read_side) const;
    void refuse(IoDone done, Error err);
    // Operations start from the loop, like every completion.
    void schedule() { reactor_.defer(lifetime_.guard([this] { advance(); })); }

    void advance();

    // ---- the read side ----
    std::size_t input_left() const { return input_.size() - input_pos_; }
    void take_input(std::size_t n);
    void advance_read();
    void plain_read_some();
    void plain_recv_to_file();
    Error write_to_file(std::span<const char> data);

    // ---- TLS over the memory BIOs ----
    bool feed_tls();
    void drain_tls();
    // What an SSL call that did not succeed means: again (more input was fed), wait (a receive is
    // posted), eof (close_notify or a bare EOF), or failed (tls_error_ and failure_ say why).
    enum class TlsStop { again, wait, eof, failed };
    TlsStop classify(int result);
    TlsStop failure(std::string why, Error err);
    void log_tls_failure(const char* during) const;
    void handshake();
    void tls_read_some();
    void tls_recv_to_file();

    // ---- the write side ----
    bool output_idle() const { return output_.empty() && !send_; }

    void advance_write();
    void plain_write_all();
    void plain_send_file();
    bool tls_write(const char* data, std::size_t size, std::size_t& took);
    void tls_write_all();
    void tls_send_file();
    void close_notify();

    // ---- the transport ----
    void start_recv(std::size_t size);
    void finished_at_once(Transfer* transfer, DWORD bytes);
    void start_send();

    // ---- completions, always through the loop ----
    void complete_read(Error err, std::uint64_t n);
    void complete_write(Error err, std::uint64_t n);

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

    SSL* tls_ = nullptr;
    bool established_ = false;
    bool fatal_ = false;
    bool eof_fed_ = false;  // the SSL was told of the peer's EOF
    std::string failure_;
    Error tls_error_;
    std::vector<char> file_in_;
    std::vector<char> file_out_;
    std::size_t file_out_pos_ = 0;

    Lifetime lifetime_;
    Lifetime read_lifetime_;
    // Bytes of a completed operation whose callback is still on its way (deferred to the loop):
    // in_flight() counts them, or an owner gone before the callback ran would never learn of them.
    std::uint64_t read_landing_ = 0;
    std::uint64_t write_landing_ = 0;
};

}  // namespace ferry::net::detail
