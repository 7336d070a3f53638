// The write side of a TLS connection's SSL below OpenSSL (src/net only): records gathered for one
// send(), and sealed by ferryd itself where the kernel has no kTLS.
//
// Batching. OpenSSL writes each record to its write BIO as soon as it is sealed: over the socket
// BIO that is one send() per 16 KiB record, and on loopback each send() also runs the receiver's
// side of TCP. While this is the SSL's write BIO it takes records until it holds `capacity` bytes
// and then says "retry" (WANT_WRITE); flush() hands what it holds to the socket in one call.
//
// Sealing (adopt(), data connections). OpenSSL gives a write BIO that claims kTLS the traffic keys
// once they are in use (BIO_CTRL_SET_KTLS, the kernel's tls12_crypto_info_* layout) and from then
// on writes plaintext to it, one record's content per write, with the record type of anything but
// application data set beforehand (BIO_CTRL_SET_KTLS_TX_SEND_CTRL_MSG). An adopted writer takes
// that role for TLS 1.3 with AES-GCM or ChaCha20-Poly1305 and seals those records itself
// (TlsRecordSealer); seal_opened() seals a download's file bytes in place, without SSL_write.
// Any other suite or version: OpenSSL keeps sealing and the writer only batches.
//
// Rules that keep the nonces unique: an adopted writer stays the SSL's write BIO until the SSL is
// freed (OpenSSL, told the BIO seals, keeps no sequence number of its own: any other write BIO
// would make it seal from sequence 0 again), and sealed bytes are never dropped and then followed
// by more (drop() is for a stream whose writing is over). A KeyUpdate that OpenSSL sends changes
// keys the writer is never given: it breaks the writer instead, and writing ends.
#pragma once
#include "net/linux/socket_io.hpp"
#include "net/tls_record_sealer.hpp"

#include <openssl/bio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ferry::net::detail {

class TlsRecordWriter {
public:
    // Whole sealed records of full size that fit in `capacity` bytes.
    static constexpr std::size_t records_in(std::size_t capacity) {
        return capacity / TlsRecordSealer::sealed_size(TlsRecordSealer::max_content);
    }
    static constexpr std::size_t max_open_records = 32;
    static constexpr const char* key_update_refusal =
        "the peer asked for a TLS key update, which ferryd's own record sealing does not follow";

    TlsRecordWriter(int socket, std::size_t capacity);
    ~TlsRecordWriter();
    TlsRecordWriter(const TlsRecordWriter&) = delete;
    TlsRecordWriter& operator=(const TlsRecordWriter&) = delete;

    // Before `ssl`'s handshake: this is its write BIO for good, offered the keys (see above).
    // false if OpenSSL cannot allocate the BIO (the SSL then keeps its socket BIO and sealing).
    bool adopt(SSL* ssl);
    // For one send_file of a connection that keeps OpenSSL's sealing: the write BIO until detach(),
    // where what is still held is dropped. An adopted writer is always attached; detach() leaves it.
    bool attach(SSL* ssl);
    void detach(SSL* ssl);
    bool attached() const { return attached_; }
    bool adopted() const { return adopted_; }
    // OpenSSL handed over the keys: records of this connection are sealed here from now on.
    bool sealing() const { return sealer_ != nullptr; }
    // Sealing failed, or a KeyUpdate was due: nothing more can be written. failure() says why.
    bool broken() const { return !failure_.empty(); }
    const std::string& failure() const { return failure_; }
    // The owner found a KeyUpdate due (the peer asked for one) before sealing without OpenSSL.
    void refuse_key_update() { failure_ = key_update_refusal; }

    // Bytes of sealed records not yet in the kernel. Dropping them leaves a gap in the TLS
    // sequence numbers: nothing written after it can be read by the peer.
    std::size_t held() const { return filled_ - sent_; }
    // send() what is held: complete once all of it is in the kernel, else wait_writable or failed.
    Turn flush();
    // What is held is forgotten (a cancelled write); the owner writes nothing more.
    void drop();

    // Sealing: the content slots of as many records as fit after what is held, for up to `want`
    // bytes, each slot at most max_content long; empty when the batch is full (flush first).
    std::span<const std::span<char>> open_records(std::size_t want);
    // Seals the first `filled` bytes of the slots open_records gave (the records they fill, the
    // last one possibly short) as application data, and holds them. false if sealing failed.
    bool seal_opened(std::size_t filled);

private:
    static const BIO_METHOD* method();
    static int write(BIO* bio, const char* data, int size);
    static long control(BIO* bio, int command, long number, void* pointer);
    bool make_bio();
    char* buffer();
    bool seal(ContentType type, std::span<char> record);
    int take(std::span<const char> content);
    long take_keys(const void* crypto_info);
    long flush_for_openssl(BIO* bio);

    int socket_;
    std::size_t capacity_;
    std::unique_ptr<char[]> bytes_;  // capacity_ bytes once used; [sent_, filled_) still to send
    std::size_t filled_ = 0;
    std::size_t sent_ = 0;
    BIO* bio_ = nullptr;             // our reference, kept across attach/detach
    bool attached_ = false;
    bool adopted_ = false;
    std::unique_ptr<TlsRecordSealer> sealer_;
    ContentType next_type_ = ContentType::application_data;  // set by OpenSSL for its next write
    std::array<std::span<char>, max_open_records> open_{};
    std::size_t open_count_ = 0;
    std::string failure_;
};

}  // namespace ferry::net::detail
