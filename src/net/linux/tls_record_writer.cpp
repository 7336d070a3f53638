#include "net/linux/tls_record_writer.hpp"

#include "net/tls_context.hpp"

#include <linux/tls.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ferry::net::detail {
namespace {

// OpenSSL's hand-over of the traffic keys to a kTLS write BIO (include/internal/bio.h of OpenSSL
// 3; its public bio.h reserves the numbers). BIO_CTRL_GET_KTLS_SEND is public.
constexpr int ctrl_set_ktls = 72;           // num != 0: the sending direction; ptr: the kernel's crypto info
constexpr int ctrl_set_record_type = 74;    // the next write is the content of one record of type num
constexpr int ctrl_clear_record_type = 75;
constexpr unsigned char key_update_message = 24;  // HandshakeType key_update (RFC 8446 4)

int start(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

std::uint64_t big_endian(const unsigned char (&bytes)[8]) {
    std::uint64_t value = 0;
    for (unsigned char byte : bytes) value = value << 8 | byte;
    return value;
}

// AES-GCM: the kernel's struct splits the 12-byte static IV into salt (4) and iv (8).
template <class Info>
std::unique_ptr<TlsRecordSealer> gcm_sealer(RecordCipher cipher, const void* crypto_info) {
    Info info;
    std::memcpy(&info, crypto_info, sizeof info);
    std::array<unsigned char, TlsRecordSealer::iv_size> iv;
    static_assert(sizeof info.salt + sizeof info.iv == TlsRecordSealer::iv_size);
    std::copy(std::begin(info.salt), std::end(info.salt), iv.begin());
    std::copy(std::begin(info.iv), std::end(info.iv), iv.begin() + sizeof info.salt);
    auto sealer = TlsRecordSealer::create(cipher, info.key, iv, big_endian(info.rec_seq));
    OPENSSL_cleanse(&info, sizeof info);
    OPENSSL_cleanse(iv.data(), iv.size());
    return sealer;
}

std::unique_ptr<TlsRecordSealer> chacha_sealer(const void* crypto_info) {
    tls12_crypto_info_chacha20_poly1305 info;
    std::memcpy(&info, crypto_info, sizeof info);
    static_assert(sizeof info.iv == TlsRecordSealer::iv_size);
    auto sealer = TlsRecordSealer::create(RecordCipher::chacha20_poly1305, info.key,
                                          std::span<const unsigned char, TlsRecordSealer::iv_size>(info.iv),
                                          big_endian(info.rec_seq));
    OPENSSL_cleanse(&info, sizeof info);
    return sealer;
}

// TLS 1.3 only: TLS 1.2 records carry an explicit nonce and another AAD, and stay OpenSSL's.
std::unique_ptr<TlsRecordSealer> sealer_for(const void* crypto_info) {
    tls_crypto_info header;
    std::memcpy(&header, crypto_info, sizeof header);
    if (header.version != TLS_1_3_VERSION) return nullptr;
    switch (header.cipher_type) {
        case TLS_CIPHER_AES_GCM_128:
            return gcm_sealer<tls12_crypto_info_aes_gcm_128>(RecordCipher::aes_128_gcm, crypto_info);
        case TLS_CIPHER_AES_GCM_256:
            return gcm_sealer<tls12_crypto_info_aes_gcm_256>(RecordCipher::aes_256_gcm, crypto_info);
        case TLS_CIPHER_CHACHA20_POLY1305: return chacha_sealer(crypto_info);
        default: return nullptr;
    }
}

bool known_type(ContentType type) {
    return type == ContentType::alert || type == ContentType::handshake || type == ContentType::application_data;
}

}  // namespace

// One method for every writer, made on first use (C++ makes that thread-safe).
const BIO_METHOD* TlsRecordWriter::method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ferry TLS record writer");
        if (m && (BIO_meth_set_write(m, write) != 1 || BIO_meth_set_ctrl(m, control) != 1 ||
                  BIO_meth_set_create(m, start) != 1)) {
            BIO_meth_free(m);
            m = nullptr;
        }
        return m;
    }();
    return method;
}

TlsRecordWriter::TlsRecordWriter(int socket, std::size_t capacity) : socket_(socket), capacity_(capacity) {}

TlsRecordWriter::~TlsRecordWriter() { BIO_free(bio_); }

bool TlsRecordWriter::make_bio() {
    if (bio_) return true;
    const BIO_METHOD* m = method();
    bio_ = m ? BIO_new(m) : nullptr;
    if (!bio_) return false;
    BIO_set_data(bio_, this);
    return true;
}

// On first use: a data connection that only receives (an upload) never needs it.
char* TlsRecordWriter::buffer() {
    if (!bytes_) bytes_ = std::make_unique_for_overwrite<char[]>(capacity_);
    return bytes_.get();
}

bool TlsRecordWriter::adopt(SSL* ssl) {
    if (attached_ || !attach(ssl)) return false;
    adopted_ = true;
    // Without it OpenSSL never offers the keys (and never sends itself with SSL_sendfile: that
    // needs a descriptor BIO, which this is not).
    SSL_set_options(ssl, SSL_OP_ENABLE_KTLS);
    return true;
}

bool TlsRecordWriter::attach(SSL* ssl) {
    if (attached_) return true;
    if (!make_bio()) return false;
    // SSL_set0_wbio takes one reference and drops the SSL's reference to the old write BIO, which
    // is also its read BIO (SSL_set_fd made it both): that one stays alive as the read BIO.
    BIO_up_ref(bio_);
    SSL_set0_wbio(ssl, bio_);
    attached_ = true;
    return true;
}

void TlsRecordWriter::detach(SSL* ssl) {
    if (!attached_ || adopted_) return;
    BIO* socket = SSL_get_rbio(ssl);
    BIO_up_ref(socket);
    SSL_set0_wbio(ssl, socket);  // drops the SSL's reference to bio_; ours keeps it
    attached_ = false;
    drop();
}

Turn TlsRecordWriter::flush() {
    if (held() == 0) return {TurnEnd::complete};
    std::uint64_t sent = sent_;
    const Turn turn = send_turn(socket_, {buffer(), filled_}, sent);
    sent_ = static_cast<std::size_t>(sent);
    if (held() == 0) filled_ = sent_ = 0;
    return turn;
}

void TlsRecordWriter::drop() {
    filled_ = sent_ = 0;
    open_count_ = 0;
}

std::span<const std::span<char>> TlsRecordWriter::open_records(std::size_t want) {
    open_count_ = 0;
    if (!sealer_ || broken()) return {};
    std::size_t at = filled_;
    while (want > 0 && open_count_ < open_.size()) {
        const std::size_t content = std::min(want, TlsRecordSealer::max_content);
        if (capacity_ - at < TlsRecordSealer::sealed_size(content)) break;
        open_[open_count_++] = {buffer() + at + TlsRecordSealer::header_size, content};
        at += TlsRecordSealer::sealed_size(content);
        want -= content;
    }
    return {open_.data(), open_count_};
}

// One record in place; a failure breaks the writer, with OpenSSL's reason.
bool TlsRecordWriter::seal(ContentType type, std::span<char> record) {
    if (sealer_->seal_in_place(type, record)) return true;
    failure_ = "sealing a TLS record failed: " + drain_openssl_errors();
    return false;
}

// The slots lie back to back from filled_, so the records they fill do too: preadv fills them in
// order, and only the last one it reaches may be short.
bool TlsRecordWriter::seal_opened(std::size_t filled) {
    const std::size_t count = std::exchange(open_count_, 0);
    for (std::size_t i = 0; i < count && filled > 0; ++i) {
        const std::size_t content = std::min(filled, open_[i].size());
        const std::size_t size = TlsRecordSealer::sealed_size(content);
        char* record = open_[i].data() - TlsRecordSealer::header_size;
        if (!seal(ContentType::application_data, {record, size})) return false;
        filled_ = static_cast<std::size_t>(record - buffer()) + size;
        filled -= content;
        if (content < open_[i].size()) break;
    }
    return true;
}

// Takes what fits of one write from OpenSSL: its records byte for byte while it seals, else whole
// records sealed here. 0: full (the owner flushes, OpenSSL retries); -1: broken.
int TlsRecordWriter::take(std::span<const char> content) {
    if (broken()) return -1;
    if (!sealer_) {
        const std::size_t n = std::min(capacity_ - filled_, content.size());
        std::memcpy(buffer() + filled_, content.data(), n);
        filled_ += n;
        return static_cast<int>(n);
    }
    const ContentType type = std::exchange(next_type_, ContentType::application_data);
    if (!known_type(type)) {
        failure_ = "OpenSSL asked for a TLS record of type " + std::to_string(static_cast<int>(type));
        return -1;
    }
    if (type == ContentType::handshake && static_cast<unsigned char>(content[0]) == key_update_message) {
        failure_ = key_update_refusal;
        return -1;
    }
    std::size_t taken = 0;
    while (taken < content.size()) {
        const std::size_t n = std::min(content.size() - taken, TlsRecordSealer::max_content);
        const std::size_t size = TlsRecordSealer::sealed_size(n);
        if (capacity_ - filled_ < size) break;
        char* record = buffer() + filled_;
        std::memcpy(record + TlsRecordSealer::header_size, content.data() + taken, n);
        if (!seal(type, {record, size})) return -1;
        filled_ += size;
        taken += n;
    }
    if (taken == 0) next_type_ = type;  // the retry is the same record
    return static_cast<int>(taken);
}

int TlsRecordWriter::write(BIO* bio, const char* data, int size) {
    auto* self = static_cast<TlsRecordWriter*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (size <= 0) return 0;
    const int n = self->take({data, static_cast<std::size_t>(size)});
    if (n > 0) return n;
    if (n == 0) {
        BIO_set_retry_write(bio);
    } else {
        errno = EPROTO;
    }
    return -1;
}

// OpenSSL flushes its write BIO at the end of each handshake flight and before every record that
// is not application data; a batch that cannot go out yet makes it retry (WANT_WRITE).
long TlsRecordWriter::flush_for_openssl(BIO* bio) {
    BIO_clear_retry_flags(bio);
    if (held() == 0) return 1;
    const Turn turn = flush();
    if (turn.end == TurnEnd::complete) return 1;
    if (turn.end == TurnEnd::failed) {
        errno = turn.err;
        return -1;
    }
    BIO_set_retry_write(bio);
    return 0;
}

long TlsRecordWriter::take_keys(const void* crypto_info) {
    if (!adopted_ || broken() || !crypto_info) return 0;
    auto sealer = sealer_for(crypto_info);
    if (!sealer) return 0;  // OpenSSL goes on sealing; this batches its records
    sealer_ = std::move(sealer);
    return 1;
}

long TlsRecordWriter::control(BIO* bio, int command, long number, void* pointer) {
    auto* self = static_cast<TlsRecordWriter*>(BIO_get_data(bio));
    if (!self) return 0;
    switch (command) {
        case BIO_CTRL_FLUSH: return self->flush_for_openssl(bio);
        case BIO_CTRL_WPENDING: return static_cast<long>(self->held());
        case BIO_CTRL_GET_KTLS_SEND: return self->sealing() ? 1 : 0;
        case ctrl_set_ktls: return number != 0 ? self->take_keys(pointer) : 0;
        case ctrl_set_record_type:
            self->next_type_ = static_cast<ContentType>(number);
            return 1;
        case ctrl_clear_record_type:
            self->next_type_ = ContentType::application_data;
            return 1;
        default: return 0;
    }
}

}  // namespace ferry::net::detail
