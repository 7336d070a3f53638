// FTPS (RFC 4217): AUTH TLS on the control connection, PBSZ/PROT for data connections, CCC
// refused. Data connections under PROT P must resume the control connection's TLS session, so a
// third party who races the client to the passive port cannot complete a transfer.
#include "base/log.hpp"
#include "proto/session.hpp"

#include "base/metrics.hpp"

namespace ferry::proto {

void Session::cmd_auth(const std::string& arg) {
    const Command mechanism = split_command(arg);
    const std::string& kind = mechanism.verb;
    if (kind != "TLS" && kind != "SSL" && kind != "TLSC" && kind != "TLSP" && arg != "TLS-C" && arg != "TLS-P")
        return reply(504, "Unknown AUTH mechanism; use AUTH TLS.");
    if (!tls_.context) return reply(534, "TLS is not available on this server.");
    if (tls_.control) return reply(503, "Already using TLS.");
    if (login_.logged_in()) return reply(503, "AUTH TLS must come before login.");
    CommandToken command = begin_command();
    // Stop reading clear text now: the client sends its ClientHello only after it sees 234, so no
    // TLS byte can have been read yet, and none may be read by a clear-text read later.
    phase_ = SessionPhase::tls_handshake;
    line_.stream->cancel_read();
    line_.reading = false;
    // Anything the client sent after AUTH in clear text is dropped, never run under TLS later
    // (the STARTTLS command-injection attack: pure-ftpd's CVE-2011-1575, Postfix's CVE-2011-0411):
    // the queued lines, and the partial line and Telnet state the parser holds.
    const std::size_t lines = line_.queue.size();
    const std::size_t partial = line_.parser.reset();
    line_.queue.clear();
    if (lines > 0 || partial > 0)
        log::warn(subject(), cat("AUTH TLS: dropped what followed it in clear text (", lines, " complete lines, ",
                      partial, " bytes of a partial line)"));
    reply(234, "Proceed with negotiation.");
    line_.after_flush = [this, command = std::move(command)]() mutable { begin_control_tls(std::move(command)); };
}

void Session::begin_control_tls(CommandToken command) {
    phase_ = SessionPhase::tls_handshake;
    auto shared_command = std::make_shared<CommandToken>(std::move(command));  // IoDone is copyable
    line_.stream->start_tls(*tls_.context, net::TlsRole::server, [this, shared_command](Error err, std::uint64_t) {
        if (phase_ == SessionPhase::tls_handshake) phase_ = SessionPhase::command;  // reads may go on
        if (err) return finish(cat("TLS handshake on the control connection failed: ", err.message()));
        tls_.control = true;
        tls_.tag = line_.stream->tag_tls_session();
        metrics::registry().tls_control_handshakes.add();
        log::info(subject(), cat("control connection secured: ", line_.stream->tls_description()));
        if (tls_.entry == Entry::implicit_tls) {  // implicit FTPS protects data connections from the start
            tls_.pbsz_done = tls_.protect_data = true;
            reply(220, ctx_.config.banner);
        }
        shared_command->complete();
    });
}

void Session::cmd_pbsz(const std::string&) {
    if (!tls_.control) return reply(503, "PBSZ needs AUTH TLS first.");
    tls_.pbsz_done = true;
    reply(200, "PBSZ=0");  // stream mode over TLS has no buffer size to agree on
}

void Session::cmd_prot(const std::string& arg) {
    if (!tls_.pbsz_done) return reply(503, "PROT needs PBSZ first.");
    if (arg == "P" || arg == "p") {
        tls_.protect_data = true;
        return reply(200, "Protection level set to Private.");
    }
    if (arg == "C" || arg == "c") {
        if (tls_required()) return reply(534, "This server requires protected data connections (PROT P).");
        tls_.protect_data = false;
        return reply(200, "Protection level set to Clear.");
    }
    if (arg == "S" || arg == "E" || arg == "s" || arg == "e") return reply(536, "Only PROT C and PROT P are supported.");
    reply(504, "PROT takes C or P.");
}

DataProtection Session::data_protection() const {
    return DataProtection{.tls = tls_.protect_data, .control_tag = tls_.tag};
}

void Session::cmd_ccc(const std::string&) { reply(534, "CCC refused: the control connection stays encrypted."); }

}  // namespace ferry::proto
