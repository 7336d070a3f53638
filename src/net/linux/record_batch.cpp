#include "net/linux/record_batch.hpp"

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>

namespace ferry::net::detail {
namespace {

int start(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

}  // namespace

// One method for every batch, made on first use (C++ makes that thread-safe).
const BIO_METHOD* RecordBatch::method() {
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

RecordBatch::~RecordBatch() { BIO_free(bio_); }

bool RecordBatch::attach(SSL* ssl) {
    if (attached_) return true;
    if (!bio_) {
        const BIO_METHOD* m = method();
        bio_ = m ? BIO_new(m) : nullptr;
        if (!bio_) return false;
        BIO_set_data(bio_, this);
        bytes_.reserve(capacity_);
    }
    // SSL_set0_wbio takes one reference and drops the SSL's reference to the old write BIO, which
    // is also its read BIO (SSL_set_fd made it both): that one stays alive as the read BIO.
    BIO_up_ref(bio_);
    SSL_set0_wbio(ssl, bio_);
    attached_ = true;
    return true;
}

void RecordBatch::detach(SSL* ssl) {
    if (!attached_) return;
    BIO* socket = SSL_get_rbio(ssl);
    BIO_up_ref(socket);
    SSL_set0_wbio(ssl, socket);  // drops the SSL's reference to bio_; ours keeps it
    attached_ = false;
    bytes_.clear();
    sent_ = 0;
}

Turn RecordBatch::flush(int socket) {
    const Turn turn = send_turn(socket, bytes_, sent_);
    if (turn.end == TurnEnd::complete) {
        bytes_.clear();
        sent_ = 0;
    }
    return turn;
}

int RecordBatch::write(BIO* bio, const char* data, int size) {
    auto* self = static_cast<RecordBatch*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (size <= 0) return 0;
    const std::size_t room = self->capacity_ - self->bytes_.size();  // never above capacity_
    if (room == 0) {
        // Full: OpenSSL keeps the rest of the record and its caller sees WANT_WRITE.
        BIO_set_retry_write(bio);
        return -1;
    }
    const std::size_t n = std::min(room, static_cast<std::size_t>(size));
    self->bytes_.insert(self->bytes_.end(), data, data + n);
    return static_cast<int>(n);
}

long RecordBatch::control(BIO* bio, int command, long, void*) {
    auto* self = static_cast<RecordBatch*>(BIO_get_data(bio));
    switch (command) {
        case BIO_CTRL_FLUSH: return 1;  // the owner flushes (flush()); OpenSSL's flush is a no-op here
        case BIO_CTRL_WPENDING: return self ? static_cast<long>(self->held()) : 0;
        default: return 0;  // includes BIO_CTRL_GET_KTLS_SEND: never kTLS
    }
}

}  // namespace ferry::net::detail
