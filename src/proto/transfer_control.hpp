// The transfer half of a session, as one state machine: it owns the data connections, the phase
// of the transfer in progress, REST and RANG, the data timeout, the quota stop and ABOR, and talks
// to its session only through TransferHost and the command's CommandToken.
//
//   idle --start--> opening --connected--> [securing --TLS resumed-->] running --done--> idle
//
// Every way back to idle sends the command's final reply exactly once (226, 425, 426, 451, 452,
// 522, 552) and completes its token: the transfer's end, a failed or timed-out open, a refused
// or failed TLS handshake, ABOR (426 then 226), the data timeout (426, or 552 while dropping
// bytes over quota), or abort() when the session closes (no reply). A completion that arrives
// after ABOR or a timeout is dropped.
#pragma once
#include "base/log.hpp"
#include "base/result.hpp"
#include "net/address.hpp"
#include "net/reactor.hpp"
#include "net/stream.hpp"
#include "proto/command_token.hpp"
#include "proto/settings.hpp"
#include "proto/transfer.hpp"
#include "proto/xferlog.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::net {
class TlsContext;
}

namespace ferry::proto {

// How data connections are made (DataChannel: PASV/EPSV listen, PORT/EPRT connect; a fake in the
// unit tests).
class DataConnections {
public:
    using OnOpen = std::function<void(Error err, std::unique_ptr<net::Stream> stream)>;
    virtual ~DataConnections() = default;
    // PASV/EPSV: listen on a port in [min, max] (0, 0 = any); returns the port.
    virtual Result<std::uint16_t> listen_passive(std::uint16_t min_port, std::uint16_t max_port) = 0;
    // PORT/EPRT: ok if `target` is acceptable (then remembered), else permission.
    virtual Status set_active(const net::Address& target) = 0;
    virtual bool configured() const = 0;
    // The connection for the next transfer, within `timeout`; one callback unless reset() first.
    virtual void open(std::chrono::milliseconds timeout, OnOpen done) = 0;
    // Forget the set-up and any pending or accepted connection.
    virtual void reset() = 0;
};

// What the transfer half needs from its session.
class TransferHost {
public:
    virtual void reply(int code, std::string_view text) = 0;
    // "552 Quota exceeded: used U of L bytes ...".
    virtual void reply_quota_exceeded() = 0;
    // Who its log lines are about (session 12, 127.0.0.1, alice).
    virtual log::Subject subject() const = 0;
    // A transfer ended with `reply_code` sent (after the log line and the reply).
    virtual void transfer_ended(XferKind kind, std::uint64_t bytes, bool complete, double seconds, int reply_code) = 0;
    // A PROT P data connection resumed the control session with one of its tickets: the control
    // connection offers a new one (Stream::offer_tls_ticket), so the next data connection can too.
    virtual void renew_tls_ticket() = 0;

protected:
    ~TransferHost() = default;
};

struct TransferRules {
    std::chrono::milliseconds data_timeout{60'000};  // no progress for this long ends a transfer
    TlsSessionReuse tls_session_reuse = TlsSessionReuse::required;
    const net::TlsContext* tls = nullptr;             // for PROT P data connections
};

// PROT P: the data connection runs TLS and must resume the control session tagged `control_tag`.
struct DataProtection {
    bool tls = false;
    std::string control_tag;
};

class TransferControl {
public:
    enum class Phase { idle, opening, securing, running };
    using MakeTransfer = std::function<std::unique_ptr<Transfer>(std::unique_ptr<net::Stream>)>;
    struct Range {
        std::uint64_t start = 0;
        std::uint64_t end = UINT64_MAX;  // inclusive; UINT64_MAX = to the end of the file
    };

    TransferControl(net::Reactor& reactor, TransferHost& host, std::unique_ptr<DataConnections> data,
                    XferLog& xferlog, TransferRules rules);
    ~TransferControl();
    TransferControl(const TransferControl&) = delete;
    TransferControl& operator=(const TransferControl&) = delete;

    DataConnections& data() { return *data_; }

    // REST n: the next RETR/STOR starts at n. RANG s e: the next RETR/HASH covers s..e.
    void set_restart(std::uint64_t offset) { restart_ = offset; }
    std::uint64_t take_restart() { return std::exchange(restart_, 0); }
    void set_range(Range range) { range_ = range; }
    std::optional<Range> take_range() { return std::exchange(range_, std::nullopt); }
    // REIN: a fresh start.
    void forget_markers() {
        restart_ = 0;
        range_.reset();
    }

    // Sends 150 `preliminary`, opens the data connection, secures it when `protection` says so,
    // runs the transfer that `make` builds on it, then the final reply; `command` is completed
    // when the transfer is over, whichever way.
    void start(std::string preliminary, MakeTransfer make, XferRecord record, DataProtection protection,
               CommandToken command);
    // ABOR: "426 Transfer aborted." and "226 Abort successful." when a transfer was under way,
    // else "225 No transfer to abort." (the data connection set-up is forgotten either way).
    void abort_command();
    // The session closes: the transfer stops without a reply (logged and xferlogged).
    void abort();
    // The session's timer: ends a transfer or TLS handshake that made no progress for data_timeout.
    void check_progress(std::chrono::steady_clock::time_point now);

    Phase phase() const { return phase_; }
    bool active() const { return phase_ != Phase::idle; }
    // What a running transfer moved so far (STAT), nullopt when none runs.
    std::optional<std::uint64_t> bytes_so_far() const;
    const XferRecord& record() const { return record_; }

private:
    void on_open(Error err, std::unique_ptr<net::Stream> stream);
    void secure(std::unique_ptr<net::Stream> stream);
    void on_secured(Error err);
    void run(std::unique_ptr<net::Stream> stream);
    void on_done(const TransferOutcome& outcome);
    void final_reply(const TransferOutcome& outcome);
    static int reply_code(const TransferOutcome& outcome);  // the code final_reply sends
    // Back to idle with `code text` as the final reply (0: none), completing the command.
    void end(int code, std::string_view text);
    // Drops the transfer or handshake and the data connection; late completions are dropped.
    void to_idle();
    // to_idle(), after logging (and xferlogging) what an unfinished transfer moved.
    void stop_and_log();
    // The record's time, bytes and outcome; files go to the xferlog.
    void close_record(std::uint64_t bytes, bool complete);

    net::Reactor& reactor_;
    TransferHost& host_;
    std::unique_ptr<DataConnections> data_;
    XferLog& xferlog_;
    const TransferRules rules_;

    Phase phase_ = Phase::idle;
    std::uint64_t restart_ = 0;
    std::optional<Range> range_;
    MakeTransfer make_;
    DataProtection protection_;
    CommandToken command_;
    XferRecord record_;
    std::unique_ptr<net::Stream> securing_;  // a data connection in its TLS handshake
    std::unique_ptr<Transfer> transfer_;
    std::chrono::steady_clock::time_point started_;
    std::uint64_t progress_bytes_ = 0;       // for the data timeout
    std::chrono::steady_clock::time_point progress_at_;
    Lifetime lifetime_;                      // renewed at every return to idle: late callbacks drop
};

}  // namespace ferry::proto
