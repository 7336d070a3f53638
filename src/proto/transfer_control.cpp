#include "proto/transfer_control.hpp"

#include "base/metrics.hpp"

#include "base/log.hpp"
#include "base/size.hpp"

namespace ferry::proto {

using Clock = std::chrono::steady_clock;

TransferControl::TransferControl(net::Reactor& reactor, TransferHost& host, std::unique_ptr<DataConnections> data,
                                 XferLog& xferlog, TransferRules rules)
    : reactor_(reactor), host_(host), data_(std::move(data)), xferlog_(xferlog), rules_(rules) {}

TransferControl::~TransferControl() = default;

std::optional<std::uint64_t> TransferControl::bytes_so_far() const {
    if (phase_ != Phase::running || !transfer_) return std::nullopt;
    return transfer_->bytes();
}

void TransferControl::close_record(std::uint64_t bytes, bool complete) {
    record_.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    record_.bytes = bytes;
    record_.complete = complete;
    if (record_.kind != XferKind::listing) xferlog_.write(record_);
}

// ---- idle -> opening -> securing -> running ----

void TransferControl::start(std::string preliminary, MakeTransfer make, XferRecord record, DataProtection protection,
                            CommandToken command) {
    phase_ = Phase::opening;
    make_ = std::move(make);
    record_ = std::move(record);
    protection_ = std::move(protection);
    command_ = std::move(command);
    started_ = progress_at_ = Clock::now();
    host_.reply(150, preliminary);
    data_->open(rules_.data_timeout, lifetime_.guard([this](Error err, std::unique_ptr<net::Stream> stream) {
        on_open(err, std::move(stream));
    }));
}

void TransferControl::on_open(Error err, std::unique_ptr<net::Stream> stream) {
    if (err) {
        log::info(host_.subject(), cat("data connection failed: ", err.message()));
        return end(425, "Failed to establish data connection.");
    }
    if (!protection_.tls) return run(std::move(stream));
    secure(std::move(stream));
}

void TransferControl::secure(std::unique_ptr<net::Stream> stream) {
    if (!rules_.tls) return end(425, "TLS is not available for the data connection.");
    phase_ = Phase::securing;
    progress_at_ = Clock::now();
    securing_ = std::move(stream);
    // No tickets: see TlsOptions. The data connection resumes the control connection's session.
    securing_->start_tls(*rules_.tls, net::TlsRole::server,
                         lifetime_.guard([this](Error err, std::uint64_t) { on_secured(err); }),
                         net::TlsOptions{.session_tickets = false});
}

void TransferControl::on_secured(Error err) {
    auto stream = std::move(securing_);  // destroying it in its own callback is allowed (stream.hpp)
    if (err) {
        log::info(host_.subject(), cat("TLS on the data connection failed: ", err.message()));
        return end(425, "TLS negotiation on the data connection failed.");
    }
    metrics::registry().tls_data_handshakes.add();
    if (!stream->tls_resumed_from(protection_.control_tag)) {
        if (rules_.tls_session_reuse != TlsSessionReuse::optional) {
            log::warn(host_.subject(), cat("data connection did not resume the control TLS session: refused"
                                            " (tls_session_reuse = \"required\")"));
            return end(522, "Data connections must resume the TLS session of the control "
                            "connection (tls_session_reuse = required).");
        }
        // DataConnections took it only from the control connection's own address.
        log::info(host_.subject(), cat("data connection did not resume the control TLS session: accepted from"
                                        " the client's address (tls_session_reuse = \"optional\")"));
    } else {
        metrics::registry().tls_data_resumed.add();
        host_.renew_tls_ticket();
    }
    run(std::move(stream));
}

void TransferControl::run(std::unique_ptr<net::Stream> stream) {
    transfer_ = std::exchange(make_, nullptr)(std::move(stream));
    phase_ = Phase::running;
    started_ = progress_at_ = Clock::now();
    progress_bytes_ = 0;
    transfer_->start(lifetime_.guard([this](const TransferOutcome& outcome) { on_done(outcome); }));
}

// ---- back to idle ----

namespace {
void count_transfer(XferKind kind, const TransferOutcome& outcome) {
    auto& m = metrics::registry();
    if (kind == XferKind::upload) {
        m.bytes_received.add(outcome.bytes);
        (outcome.err ? m.uploads_failed : m.uploads_complete).add();
    } else if (kind == XferKind::download) {
        m.bytes_sent.add(outcome.bytes);
        (outcome.err ? m.downloads_failed : m.downloads_complete).add();
    }
}
}  // namespace

void TransferControl::on_done(const TransferOutcome& outcome) {
    reactor_.release_later(std::move(transfer_));  // we are inside its callback
    close_record(outcome.bytes, !outcome.err);
    count_transfer(record_.kind, outcome);
    log::info(host_.subject(), cat(xfer_kind_name(record_.kind), ' ', record_.path, ": ", outcome.bytes,
                  " bytes in ", format_millis(record_.seconds), " (", format_rate(outcome.bytes, record_.seconds), ")",
                  outcome.dropped ? cat(", ", outcome.dropped, " more bytes dropped over quota") : std::string(),
                  outcome.err ? cat(", failed: ", outcome.err.message()) : std::string()));
    // Told before the reply: completing the command may end the session (a QUIT waiting behind).
    host_.transfer_ended(record_.kind, outcome.bytes, !outcome.err, record_.seconds, reply_code(outcome));
    final_reply(outcome);
}

int TransferControl::reply_code(const TransferOutcome& outcome) {
    const bool local = outcome.side == FailureSide::local;
    if (!outcome.err) return 226;
    if (local && outcome.err == Errc::quota) return 552;
    if (local && outcome.err == Errc::no_space) return 452;
    return local ? 451 : 426;
}

void TransferControl::final_reply(const TransferOutcome& outcome) {
    to_idle();
    switch (reply_code(outcome)) {
        case 226: host_.reply(226, "Transfer complete."); break;
        case 552: host_.reply_quota_exceeded(); break;
        case 452: host_.reply(452, "Insufficient storage space; transfer stopped."); break;
        case 451: host_.reply(451, cat("Local error: ", outcome.err.message(), "; transfer stopped.")); break;
        default: host_.reply(426, "Connection closed; transfer aborted."); break;
    }
    command_.complete();
}

void TransferControl::end(int code, std::string_view text) {
    to_idle();
    host_.reply(code, text);
    command_.complete();
}

void TransferControl::to_idle() {
    lifetime_.renew();  // completions already on their way are dropped
    reactor_.release_later(std::move(transfer_));   // we may be inside one of their callbacks
    reactor_.release_later(std::move(securing_));
    make_ = nullptr;
    phase_ = Phase::idle;
    data_->reset();
}

void TransferControl::stop_and_log() {
    if (transfer_) {
        close_record(transfer_->bytes(), false);
        count_transfer(record_.kind, TransferOutcome{Errc::io, FailureSide::connection, record_.bytes, 0});
        log::info(host_.subject(), cat("transfer of ", record_.path, " aborted after ", record_.bytes, " bytes in ",
                      format_millis(record_.seconds), " (", format_rate(record_.bytes, record_.seconds), ")"));
        host_.transfer_ended(record_.kind, record_.bytes, false, record_.seconds, 426);  // ABOR, or the session ends
    }
    to_idle();
}

void TransferControl::abort_command() {
    if (phase_ == Phase::idle) {
        data_->reset();
        return host_.reply(225, "No transfer to abort.");
    }
    stop_and_log();
    host_.reply(426, "Transfer aborted.");
    host_.reply(226, "Abort successful.");
    command_.complete();
}

void TransferControl::abort() {
    if (phase_ == Phase::idle) return;
    stop_and_log();
    // The session is closing: its queue must not run now, so the token completes from the loop.
    auto dropped = std::move(command_);
}

void TransferControl::check_progress(Clock::time_point now) {
    if (phase_ == Phase::running && transfer_) {
        const std::uint64_t progress = transfer_->progress();
        if (progress != progress_bytes_) {
            progress_bytes_ = progress;
            progress_at_ = now;
            return;
        }
        if (now - progress_at_ <= rules_.data_timeout) return;
        const bool over_quota = transfer_->over_quota();
        stop_and_log();
        over_quota ? host_.reply_quota_exceeded() : host_.reply(426, "Data connection timed out; transfer aborted.");
        command_.complete();
    } else if (phase_ == Phase::securing && now - progress_at_ > rules_.data_timeout) {
        stop_and_log();
        host_.reply(425, "TLS negotiation on the data connection timed out.");
        command_.complete();
    }
}

}  // namespace ferry::proto
