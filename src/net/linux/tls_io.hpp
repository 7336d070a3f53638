// TLS turns for Stream (src/net only): the same shape as socket_io.hpp, over one SSL object on a
// non-blocking socket.
//
// Every turn calls OpenSSL until the operation is complete, OpenSSL wants readiness (WANT_READ /
// WANT_WRITE, which is not tied to the direction of the operation: SSL_read may need to write,
// SSL_write may need to read), the per-turn budget is spent, or a fatal error. Because the reactor
// is edge-triggered, a turn only stops for readiness after OpenSSL actually hit EAGAIN.
#pragma once
#include "net/linux/socket_io.hpp"
#include "net/linux/tls_record_batch.hpp"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ferry::net::detail {

class TlsIo {
public:
    // An SSL for `socket` (not owned: the Stream closes it after this is gone) from `ctx`, in the
    // server or client role, with the per-connection settings FTPS needs. nullptr when OpenSSL
    // cannot make one; *error says why.
    static std::unique_ptr<TlsIo> create(SSL_CTX* ctx, int socket, bool as_server, std::string* error);
    ~TlsIo();
    TlsIo(const TlsIo&) = delete;
    TlsIo& operator=(const TlsIo&) = delete;

    SSL* ssl() const { return ssl_; }
    // "TLSv1.3 TLS_AES_256_GCM_SHA384".
    std::string description() const;
    // No session tickets on this connection (a data connection, which resumes the control one's).
    void issue_no_tickets();
    bool established() const { return established_; }
    // The kernel encrypts what is written (kTLS): SSL_sendfile can send straight from the page cache.
    bool ktls_send() const;
    // OpenSSL's words for the last fatal error (handshake failures are logged with them).
    const std::string& failure() const { return failure_; }

    Turn handshake();
    // One SSL_read; `got` == 0 with complete = the peer closed (close_notify, or a bare TCP EOF).
    Turn read(std::span<char> buffer, std::uint64_t& got);
    // SSL_write the bytes of `all` from `done` on; advances `done`.
    Turn write(std::span<const char> all, std::uint64_t& done);
    // `count` bytes of `file` from `offset`: SSL_sendfile with kTLS, else pread + SSL_write.
    // cached_until: as send_file_turn's (socket_io.hpp), for SSL_sendfile's reads under kTLS and
    // the preads without it.
    Turn send_file(int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                   std::uint64_t* cached_until = nullptr);
    // SSL_read into a buffer, pwrite to `file`; `done` counts bytes that reached the file.
    Turn recv_to_file(int file, std::uint64_t offset, std::uint64_t max, std::uint64_t& done);
    // Sends close_notify; complete once it is in the kernel (the peer's close_notify is not awaited).
    Turn close_notify();

    // A new send_file: nothing of an earlier one stays buffered. `zero_copy` = false keeps it
    // off SSL_sendfile even where kTLS is on (the file is being written).
    void begin_send_file(bool zero_copy) {
        file_pos_ = file_filled_ = 0;
        zero_copy_allowed_ = zero_copy;
    }
    // The write operation was dropped (cancel). If OpenSSL holds half a record of it, any later
    // SSL_write would send that record's tail as part of new data, so writing is over for good.
    void abandon_write();

private:
    TlsIo(SSL* ssl, int socket);
    // What a failed SSL_* call means for a turn. EOF (close_notify or bare) comes back as complete.
    Turn classify(int result, int saved_errno);
    Turn write_some(const char* data, std::size_t size, std::uint64_t& written);
    Turn send_file_ktls(int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                        std::uint64_t* cached_until);
    Turn copy_turn(int file, std::uint64_t offset, std::uint64_t count, std::uint64_t& done,
                   std::uint64_t* cached_until);
    Turn after_writes(Turn turn);
    std::span<char> buffer(std::vector<char>& storage);

    SSL* ssl_;
    bool established_ = false;
    bool fatal_ = false;           // after SSL_ERROR_SSL/SYSCALL OpenSSL forbids SSL_shutdown
    bool write_pending_ = false;   // an SSL_write returned WANT_*: the retry must carry the same bytes
    bool writes_poisoned_ = false; // see abandon_write
    bool close_notify_sent_ = false;
    std::string failure_;
    std::vector<char> file_out_;   // send_file without kTLS: pread -> here -> SSL_write
    bool zero_copy_allowed_ = true;
    std::size_t file_pos_ = 0;     // next byte of file_out_ to SSL_write
    std::size_t file_filled_ = 0;  // bytes of file_out_ read from the file
    TlsRecordBatch batch_;         // OpenSSL's records for one send() (writes without kTLS)
    std::vector<char> file_in_;    // recv_to_file: SSL_read -> here -> pwrite
};

}  // namespace ferry::net::detail
