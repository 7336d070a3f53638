// Outgoing TLS 1.3 records sealed by ferryd instead of OpenSSL's record layer (src/net only).
//
// Why: OpenSSL's record layer copies every byte it sends twice on the way out (the plaintext into
// its record buffer, the sealed record into the write BIO). Sealing in place, in the buffer that
// goes to send(), leaves the pread into that buffer as the only copy before the kernel's.
//
// Where the keys come from: OpenSSL hands the traffic keys of a kTLS-capable write BIO to that BIO
// (the kernel's tls12_crypto_info_* layout) and from then on writes plaintext to it; the Linux
// TlsRecordWriter takes that role for data connections where the kernel has no kTLS and builds
// one of these. Its sequence number is then the only one: OpenSSL seals nothing more with that
// key. A sealer never seals two records with the same sequence number (the AEAD nonce).
//
// The record (RFC 8446 5.2): header 23 03 03 len, then the AEAD of content || type with the
// header as additional data and the nonce iv XOR the 64-bit sequence number; no padding.
#pragma once
#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace ferry::net {

enum class RecordCipher { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };

// The TLS content types a sealed record may carry (RFC 8446 B.1).
enum class ContentType : std::uint8_t { alert = 21, handshake = 22, application_data = 23 };

class TlsRecordSealer {
public:
    static constexpr std::size_t max_content = 1u << 14;  // TLSPlaintext.length limit
    static constexpr std::size_t header_size = 5;
    static constexpr std::size_t tag_size = 16;  // the same for the three ciphers
    static constexpr std::size_t iv_size = 12;
    // Bytes on the wire of a record carrying `content` bytes: header, content, type, tag.
    static constexpr std::size_t sealed_size(std::size_t content) { return header_size + content + 1 + tag_size; }

    // nullptr when OpenSSL cannot set the cipher up or the key has the wrong length.
    static std::unique_ptr<TlsRecordSealer> create(RecordCipher cipher, std::span<const unsigned char> key,
                                                   std::span<const unsigned char, iv_size> iv, std::uint64_t sequence);
    ~TlsRecordSealer();
    TlsRecordSealer(const TlsRecordSealer&) = delete;
    TlsRecordSealer& operator=(const TlsRecordSealer&) = delete;

    // Seals one record in place: `record` is sealed_size(n) bytes whose content, n <= max_content
    // bytes, already sits at record[header_size]; the header, the type and the tag are written
    // around it. false for a record of the wrong size (nothing sealed, nothing spent), or when
    // OpenSSL fails or the sequence numbers are spent: the sealer is then broken for good (a retry
    // could only reuse the nonce). `record` holds nothing to send after a false.
    bool seal_in_place(ContentType type, std::span<char> record);
    bool broken() const { return broken_; }
    std::uint64_t sequence() const { return sequence_; }

private:
    TlsRecordSealer(EVP_CIPHER_CTX* ctx, std::span<const unsigned char, iv_size> iv, std::uint64_t sequence);
    bool seal(ContentType type, unsigned char* record, std::size_t content);

    EVP_CIPHER_CTX* ctx_;
    std::array<unsigned char, iv_size> iv_;
    std::uint64_t sequence_;
    bool broken_ = false;
};

}  // namespace ferry::net
