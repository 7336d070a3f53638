// FTPS (RFC 4217): AUTH TLS on the control connection, PBSZ/PROT for data connections, CCC
// refused. Data connections under PROT P must resume the control connection's TLS session, so a
// third party who races the client to the passive port cannot complete a transfer.
#include "base/log.hpp"
#include "proto/session.hpp"

#include <cstring>
#include <openssl/ssl.h>

namespace ferry::proto {

void Session::cmd_auth(const std::string& arg) {
    const Command mechanism = split_command(arg);
    const std::string& kind = mechanism.verb;
    if (kind != "TLS" && kind != "SSL" && kind != "TLSC" && kind != "TLSP" && arg != "TLS-C" && arg != "TLS-P")
        return reply(504, "Unknown AUTH mechanism; use AUTH TLS.");
    if (!ctx_.tls) return reply(534, "TLS is not available on this server.");
    if (control_tls_) return reply(503, "Already using TLS.");
    if (login_ == LoginState::logged_in) return reply(503, "AUTH TLS must come before login.");
    busy_ = true;
    // Stop reading clear text now: the client sends its ClientHello only after it sees 234, so no
    // TLS byte can have been read yet, and none may be read by a clear-text read later.
    tls_handshaking_ = true;
    control_->cancel_read();
    reading_ = false;
    // Anything the client sent after AUTH in clear text is dropped, never run under TLS later
    // (the STARTTLS command-injection attack).
    queue_.clear();
    reply(234, "Proceed with negotiation.");
    after_flush_ = [this] { begin_control_tls(); };
}

void Session::begin_control_tls() {
    tls_handshaking_ = true;
    busy_ = true;
    control_->start_tls(*ctx_.tls, net::TlsRole::server, [this](int err, std::uint64_t) {
        tls_handshaking_ = false;
        if (err) return finish(cat("TLS handshake on the control connection failed: ", std::strerror(err)));
        control_tls_ = true;
        tls_tag_ = net::tag_control_session(control_->tls());
        log::info(cat(describe(), " control connection secured: ", SSL_get_version(control_->tls()), ' ',
                      SSL_get_cipher_name(control_->tls())));
        if (implicit_tls_) {  // implicit FTPS protects data connections from the start
            pbsz_done_ = protect_data_ = true;
            reply(220, ctx_.config.banner);
        }
        command_finished();
    });
}

void Session::cmd_pbsz(const std::string&) {
    if (!control_tls_) return reply(503, "PBSZ needs AUTH TLS first.");
    pbsz_done_ = true;
    reply(200, "PBSZ=0");  // stream mode over TLS has no buffer size to agree on
}

void Session::cmd_prot(const std::string& arg) {
    if (!pbsz_done_) return reply(503, "PROT needs PBSZ first.");
    if (arg == "P" || arg == "p") {
        protect_data_ = true;
        return reply(200, "Protection level set to Private.");
    }
    if (arg == "C" || arg == "c") {
        if (tls_required()) return reply(534, "This server requires protected data connections (PROT P).");
        protect_data_ = false;
        return reply(200, "Protection level set to Clear.");
    }
    if (arg == "S" || arg == "E" || arg == "s" || arg == "e") return reply(536, "Only PROT C and PROT P are supported.");
    reply(504, "PROT takes C or P.");
}

// tls_session_reuse = "optional": the data connection came from the control connection's own
// address (DataChannel refuses any other), which is all that is left to check.
bool Session::accept_unresumed_data() const {
    if (ctx_.config.tls_session_reuse != app::TlsSessionReuse::optional) return false;
    log::info(cat(describe(), " data connection did not resume the control TLS session: accepted from the"
                              " client's address (tls_session_reuse = \"optional\")"));
    return true;
}

void Session::cmd_ccc(const std::string&) { reply(534, "CCC refused: the control connection stays encrypted."); }

void Session::secure_data(std::unique_ptr<net::Stream> stream,
                          std::function<void(std::unique_ptr<net::Stream>)> start) {
    phase_ = DataPhase::securing;
    progress_at_ = std::chrono::steady_clock::now();
    securing_ = std::move(stream);
    securing_->start_tls(*ctx_.tls, net::TlsRole::server,
                         [this, handshaking = securing_.get(), start = std::move(start)](int err, std::uint64_t) {
        if (securing_.get() != handshaking) return;  // aborted meanwhile (as in begin_transfer)
        auto stream = std::move(securing_);
        if (err) {
            log::info(cat(describe(), " TLS on the data connection failed: ", std::strerror(err)));
            return data_connection_failed(425, "TLS negotiation on the data connection failed.");
        }
        if (!net::resumed_from(stream->tls(), tls_tag_) && !accept_unresumed_data()) {
            log::warn(cat(describe(), " data connection did not resume the control TLS session: refused"
                                      " (tls_session_reuse = \"required\")"));
            return data_connection_failed(522, "Data connections must resume the TLS session of the control "
                                               "connection (tls_session_reuse = required).");
        }
        start(std::move(stream));
    });
    // An uploading client never reads its data connection: TLS 1.3 tickets sent there would sit
    // unread and turn its close into a reset. Data connections resume; they need no tickets.
    SSL_set_num_tickets(securing_->tls(), 0);
}

}  // namespace ferry::proto
