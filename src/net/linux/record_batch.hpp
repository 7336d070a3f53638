// TLS records gathered for one send() (src/net only; the Linux TlsIo's downloads without kTLS).
//
// OpenSSL writes each record to its write BIO as soon as it is sealed: over the socket BIO that is
// one send() per 16 KiB record, and on loopback each send() also runs the receiver's side of TCP.
// While attached, a RecordBatch is the SSL's write BIO instead: it takes records until it holds
// `capacity` bytes and then says "retry" (WANT_WRITE), and flush() hands what it holds to the
// socket in one call. The socket BIO stays the SSL's read BIO throughout and is its write BIO again
// after detach(). Never attached where the kernel encrypts (kTLS): records sealed in user space
// would break the kernel's sequence numbers.
#pragma once
#include "net/linux/socket_io.hpp"

#include <openssl/bio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferry::net::detail {

class RecordBatch {
public:
    explicit RecordBatch(std::size_t capacity) : capacity_(capacity) {}
    ~RecordBatch();
    RecordBatch(const RecordBatch&) = delete;
    RecordBatch& operator=(const RecordBatch&) = delete;

    // Makes this the write BIO of `ssl`, whose read and write BIO are its socket BIO. false if
    // OpenSSL cannot allocate the BIO (the caller writes to the socket directly then).
    bool attach(SSL* ssl);
    // The socket BIO is `ssl`'s write BIO again; what is still held is dropped (see held()).
    void detach(SSL* ssl);
    bool attached() const { return attached_; }
    // Bytes of sealed records not yet in the kernel. Dropping them leaves a gap in the TLS
    // sequence numbers: nothing written after it can be read by the peer.
    std::size_t held() const { return bytes_.size() - sent_; }
    // send() what is held: complete once all of it is in the kernel, else wait_writable or failed.
    Turn flush(int socket);

private:
    static const BIO_METHOD* method();
    static int write(BIO* bio, const char* data, int size);
    static long control(BIO* bio, int command, long number, void* pointer);

    std::size_t capacity_;
    std::vector<char> bytes_;    // sealed records, [sent_, size) still to send
    std::uint64_t sent_ = 0;
    BIO* bio_ = nullptr;         // our reference, kept across attach/detach
    bool attached_ = false;
};

}  // namespace ferry::net::detail
