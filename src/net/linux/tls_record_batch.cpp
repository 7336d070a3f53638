#include "net/linux/tls_record_batch.hpp"

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ferry::net::detail {
namespace {

int start(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

}  // namespace

// One method for every batch, made on first use (C++ makes that thread-safe).
const BIO_METHOD* TlsRecordBatch::method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ferry TLS record batch");
        if (m && (BIO_meth_set_write(m, write) != 1 || BIO_meth_set_ctrl(m, control) != 1 ||
                  BIO_meth_set_create(m, start) != 1)) {
            BIO_meth_free(m);
            m = nullptr;
        }
        return m;
    }();
    return method;
}

TlsRecordBatch::~TlsRecordBatch() { BIO_free(bio_); }

bool TlsRecordBatch::attach(SSL* ssl) {
    if (attached_) return true;
    if (!bio_) {
        const BIO_METHOD* m = method();
        bio_ = m ? BIO_new(m) : nullptr;
        if (!bio_) return false;
        BIO_set_data(bio_, this);
    }
    // SSL_set0_wbio takes one reference and drops the SSL's reference to the old write BIO, which
    // is also its read BIO (SSL_set_fd made it both): that one stays alive as the read BIO.
    BIO_up_ref(bio_);
    SSL_set0_wbio(ssl, bio_);
    attached_ = true;
    return true;
}

void TlsRecordBatch::detach(SSL* ssl) {
    if (!attached_) return;
    BIO* socket = SSL_get_rbio(ssl);
    BIO_up_ref(socket);
    SSL_set0_wbio(ssl, socket);  // drops the SSL's reference to bio_; ours keeps it
    attached_ = false;
    drop();
}

Turn TlsRecordBatch::flush() {
    if (held() == 0) return {TurnEnd::complete};
    std::uint64_t sent = sent_;
    const Turn turn = send_turn(socket_, {bytes_.get(), filled_}, sent);
    sent_ = static_cast<std::size_t>(sent);
    if (held() == 0) filled_ = sent_ = 0;
    return turn;
}

// What fits of one write from OpenSSL; 0 when full (the owner flushes, OpenSSL retries).
int TlsRecordBatch::take(const char* data, std::size_t size) {
    if (!bytes_) bytes_ = std::make_unique_for_overwrite<char[]>(capacity_);  // an upload never needs it
    const std::size_t n = std::min(capacity_ - filled_, size);
    std::memcpy(bytes_.get() + filled_, data, n);
    filled_ += n;
    return static_cast<int>(n);
}

int TlsRecordBatch::write(BIO* bio, const char* data, int size) {
    auto* self = static_cast<TlsRecordBatch*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (size <= 0) return 0;
    const int n = self->take(data, static_cast<std::size_t>(size));
    if (n > 0) return n;
    BIO_set_retry_write(bio);
    return -1;
}

// OpenSSL flushes its write BIO at the end of each handshake flight and before every record that
// is not application data; a batch that cannot go out yet makes it retry (WANT_WRITE).
long TlsRecordBatch::flush_for_openssl(BIO* bio) {
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

long TlsRecordBatch::control(BIO* bio, int command, long, void*) {
    auto* self = static_cast<TlsRecordBatch*>(BIO_get_data(bio));
    if (!self) return 0;
    switch (command) {
        case BIO_CTRL_FLUSH: return self->flush_for_openssl(bio);
        case BIO_CTRL_WPENDING: return static_cast<long>(self->held());
        default: return 0;  // in particular no kTLS: OpenSSL keeps its keys and seals every record
    }
}

}  // namespace ferry::net::detail
