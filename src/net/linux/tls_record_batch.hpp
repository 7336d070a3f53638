// TLS records gathered for one send() (src/net only; the Linux TlsIo's writes without kTLS).
//
// OpenSSL writes each record to its write BIO as soon as it is sealed: over the socket BIO that is
// one send() per 16 KiB record, and on loopback each send() also runs the receiver's side of TCP.
// While attached, a TlsRecordBatch is the SSL's write BIO instead: it takes records until it holds
// `capacity` bytes and then says "retry" (WANT_WRITE), and flush() hands what it holds to the
// socket in one call. The socket BIO stays the SSL's read BIO throughout and is its write BIO again
// after detach(). Never attached where the kernel encrypts (kTLS): the kernel must see plaintext.
//
// The records are OpenSSL's, sealed by OpenSSL; this only holds the bytes. It claims no kTLS and
// answers no ctrl but FLUSH and WPENDING, so OpenSSL never hands it keys.
#pragma once
#include "net/linux/socket_io.hpp"

#include <openssl/bio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ferry::net::detail {

class TlsRecordBatch {
public:
    explicit TlsRecordBatch(int socket, std::size_t capacity) : socket_(socket), capacity_(capacity) {}
    ~TlsRecordBatch();
    TlsRecordBatch(const TlsRecordBatch&) = delete;
    TlsRecordBatch& operator=(const TlsRecordBatch&) = delete;

    // Makes this the write BIO of `ssl`, whose read and write BIO are its socket BIO. false if
    // OpenSSL cannot allocate the BIO (the caller's records then go to the socket one by one).
    bool attach(SSL* ssl);
    // The socket BIO is `ssl`'s write BIO again; what is still held is dropped (see held()).
    void detach(SSL* ssl);
    bool attached() const { return attached_; }
    // Bytes of sealed records not yet in the kernel. Dropping them leaves a gap in the TLS
    // sequence numbers: nothing written after it can be read by the peer.
    std::size_t held() const { return filled_ - sent_; }
    // send() what is held: complete once all of it is in the kernel, else wait_writable or failed.
    Turn flush();
    // What is held is forgotten (a cancelled write); the owner writes nothing more.
    void drop() { filled_ = sent_ = 0; }

private:
    static const BIO_METHOD* method();
    static int write(BIO* bio, const char* data, int size);
    static long control(BIO* bio, int command, long number, void* pointer);
    int take(const char* data, std::size_t size);
    long flush_for_openssl(BIO* bio);

    int socket_;
    std::size_t capacity_;
    std::unique_ptr<char[]> bytes_;  // capacity_ bytes once used; [sent_, filled_) still to send
    std::size_t filled_ = 0;
    std::size_t sent_ = 0;
    BIO* bio_ = nullptr;             // our reference, kept across attach/detach
    bool attached_ = false;
};

}  // namespace ferry::net::detail
