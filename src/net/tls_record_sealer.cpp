#include "net/tls_record_sealer.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <limits>

namespace ferry::net {
namespace {

const EVP_CIPHER* evp_cipher(RecordCipher cipher) {
    switch (cipher) {
        case RecordCipher::aes_128_gcm: return EVP_aes_128_gcm();
        case RecordCipher::aes_256_gcm: return EVP_aes_256_gcm();
        case RecordCipher::chacha20_poly1305: return EVP_chacha20_poly1305();
    }
    return nullptr;
}

}  // namespace

std::unique_ptr<TlsRecordSealer> TlsRecordSealer::create(RecordCipher cipher, std::span<const unsigned char> key,
                                                         std::span<const unsigned char, iv_size> iv,
                                                         std::uint64_t sequence) {
    const EVP_CIPHER* evp = evp_cipher(cipher);
    if (!evp || key.size() != static_cast<std::size_t>(EVP_CIPHER_get_key_length(evp))) return nullptr;
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    // The key schedule is computed once here; each record only sets its nonce.
    if (!ctx || EVP_EncryptInit_ex(ctx, evp, nullptr, key.data(), nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(iv_size), nullptr) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return nullptr;
    }
    return std::unique_ptr<TlsRecordSealer>(new TlsRecordSealer(ctx, iv, sequence));
}

TlsRecordSealer::TlsRecordSealer(EVP_CIPHER_CTX* ctx, std::span<const unsigned char, iv_size> iv,
                                 std::uint64_t sequence)
    : ctx_(ctx), sequence_(sequence) {
    std::copy(iv.begin(), iv.end(), iv_.begin());
}

// EVP_CIPHER_CTX_free cleanses the key schedule.
TlsRecordSealer::~TlsRecordSealer() {
    EVP_CIPHER_CTX_free(ctx_);
    OPENSSL_cleanse(iv_.data(), iv_.size());
}

bool TlsRecordSealer::seal_in_place(ContentType type, std::span<char> record) {
    if (broken_ || record.size() < sealed_size(0) || record.size() > sealed_size(max_content)) return false;
    const std::size_t content = record.size() - sealed_size(0);
    // The last sequence number is never used: the record after it would need a nonce again.
    if (sequence_ == std::numeric_limits<std::uint64_t>::max() ||
        !seal(type, reinterpret_cast<unsigned char*>(record.data()), content)) {
        broken_ = true;
        return false;
    }
    ++sequence_;
    return true;
}

bool TlsRecordSealer::seal(ContentType type, unsigned char* record, std::size_t content) {
    // RFC 8446 5.3: the 64-bit sequence number, big-endian, XORed into the low bytes of the IV.
    std::array<unsigned char, iv_size> nonce = iv_;
    for (int i = 0; i < 8; ++i) nonce[iv_size - 1 - i] ^= static_cast<unsigned char>(sequence_ >> (8 * i));
    const std::size_t length = content + 1 + tag_size;  // TLSCiphertext.length
    unsigned char* header = record;
    header[0] = static_cast<unsigned char>(ContentType::application_data);  // opaque_type
    header[1] = 0x03;  // legacy_record_version 0x0303
    header[2] = 0x03;
    header[3] = static_cast<unsigned char>(length >> 8);
    header[4] = static_cast<unsigned char>(length);
    unsigned char* body = record + header_size;
    body[content] = static_cast<unsigned char>(type);  // TLSInnerPlaintext.type, after the content
    int out = 0;
    return EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data()) == 1 &&
           EVP_EncryptUpdate(ctx_, nullptr, &out, header, static_cast<int>(header_size)) == 1 &&
           EVP_EncryptUpdate(ctx_, body, &out, body, static_cast<int>(content + 1)) == 1 &&
           EVP_EncryptFinal_ex(ctx_, body + content + 1, &out) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_size), body + content + 1) == 1;
}

}  // namespace ferry::net
