// The Linux Stream: a non-blocking socket on the epoll reactor, with TLS (and kTLS) by OpenSSL.
// Other code makes one with net::make_stream; the backend's own unit tests use the class itself.
#pragma once
#include "net/linux/readiness.hpp"
#include "net/linux/sockaddr.hpp"
#include "net/stream.hpp"

#include <openssl/types.h>

namespace ferry::net {

class SocketStream final : public Stream, private detail::ReadinessHandler {
public:
    SocketStream(Reactor& reactor, Socket socket);
    ~SocketStream() override;
    SocketStream(const SocketStream&) = delete;
    SocketStream& operator=(const SocketStream&) = delete;

    void read_some(std::span<char> buffer, IoDone done) override;
    void write_all(std::span<const char> buffer, IoDone done) override;
    void send_file(const File& file, std::uint64_t offset, std::uint64_t count, IoDone done,
                   FileState state = FileState::settled, BringIntoCache bring_into_cache = nullptr) override;
    void recv_to_file(const File& file, std::uint64_t offset, std::uint64_t max, IoDone done) override;
    void start_tls(const TlsContext& context, TlsRole role, IoDone done, TlsOptions options = {}) override;
    void shutdown_tls(IoDone done) override;
    bool is_tls() const override;
    std::string tls_description() const override;
    std::string tag_tls_session() override;
    bool tls_resumed_from(std::string_view control_tag) const override;
    void offer_tls_ticket() override;
    bool ktls_send() const override;
    void cancel() override;
    void cancel_read() override;
    void shutdown_write() override;
    Address local_address() const override { return detail::local_of(socket_.get()); }
    Address peer_address() const override { return detail::peer_of(socket_.get()); }
    std::uint64_t in_flight() const override;
    std::chrono::steady_clock::time_point last_activity() const override { return last_activity_; }
    // The connection's SSL (nullptr when plain), for this backend's own tests.
    SSL* ssl() const;

private:
    void on_readable() override;
    void on_writable() override;
    void on_error() override;
    struct ReadOp;
    struct WriteOp;
    struct State;
    void run_read();
    void run_write();
    void bring_next_piece();
    void complete_read(int err, std::uint64_t n);
    void complete_write(int err, std::uint64_t n);
    // Why a read/write may not start now (0 = it may): pending, or TLS not (yet) usable.
    int refusal(bool read_side) const;
    void refuse(IoDone done, int err);
    void log_tls_failure(const char* during) const;

    Reactor& reactor_;
    Socket socket_;
    std::chrono::steady_clock::time_point last_activity_;
    // Pending ops, the receive buffer, and a generation counter so that cancelled or destroyed
    // streams never see late completions.
    std::unique_ptr<State> state_;
};

}  // namespace ferry::net
