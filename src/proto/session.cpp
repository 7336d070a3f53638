// Session lifecycle: the control connection's reads and writes, the command queue, timers.
#include "proto/session.hpp"

#include "base/log.hpp"
#include "fs/listing.hpp"
#include "proto/data_channel.hpp"

#include <atomic>

namespace ferry::proto {
namespace {
std::atomic<std::uint64_t> g_next_session_id{1};
// Command lines are short and the parser keeps a partial one: a small buffer, held by every idle
// session (a longer line or a pipelined burst takes a few reads).
constexpr std::size_t kReadBuffer = 256;
constexpr std::size_t kMaxQueuedLines = 32;    // past this, stop reading until the queue drains
// Replies not yet taken by the socket: past this no further command runs until they are, so a
// client that sends commands and reads nothing cannot make the server buffer replies without end.
constexpr std::size_t kMaxUnsentReplies = 64u << 10;
constexpr auto kCloseFlushLimit = std::chrono::seconds(5);

bool answered_during_transfer(std::string_view verb) {
    return verb == "ABOR" || verb == "STAT" || verb == "NOOP" || verb == "QUIT";
}

// What to show of a command in a log line: never a password, never control bytes, never megabytes.
std::string loggable(const Command& command) {
    if (command.verb == "PASS") return "PASS ****";
    std::string arg = command.arg.substr(0, 120);
    if (command.verb == "SITE") {
        // SITE PASSWD <pw>, SITE ADDUSER <name> <pw> ..., SITE REGISTER <name> <pw> ...
        const Command sub = split_command(arg);
        if (sub.verb == "PASSWD") arg = "PASSWD ****";
        if (sub.verb == "ADDUSER" || sub.verb == "REGISTER") arg = sub.verb + ' ' + sub.arg.substr(0, sub.arg.find(' ')) + " ****";
    }
    std::string shown = command.verb;
    if (!arg.empty()) {
        shown += ' ';
        for (char c : arg) shown += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
    return shown;
}
}  // namespace

Session::Session(net::Reactor& reactor, ServerContext& context, std::unique_ptr<net::Stream> control, Entry entry,
                 OnFinished on_finished, std::optional<net::Address> client)
    : reactor_(reactor),
      ctx_(context),
      id_(g_next_session_id++),
      control_(std::move(control)),
      local_(control_->local_address()),
      peer_(client ? *client : control_->peer_address()),
      on_finished_(std::move(on_finished)),
      parser_(context.config.max_line),
      read_buffer_(kReadBuffer),
      entry_(entry) {}

// Made at the first command that needs it (PASV, PORT, REST, RANG, a transfer): a session that
// logs in and idles never holds one (with its data channel, about 700 bytes).
TransferControl& Session::transfers() {
    if (!transfers_)
        transfers_ = std::make_unique<TransferControl>(
            reactor_, static_cast<TransferHost&>(*this), std::make_unique<DataChannel>(reactor_, local_, peer_), ctx_.xferlog,
            TransferRules{ctx_.config.data_timeout, ctx_.config.tls_session_reuse, ctx_.tls});
    return *transfers_;
}

Session::~Session() {
    lifetime_.renew();  // tokens completed while the members go must not reach this session
    if (timer_) reactor_.cancel_timer(timer_);
    stop_awaiting_login();
}

void Session::stop_awaiting_login() {
    if (std::exchange(awaiting_login_, false)) --ctx_.awaiting_login;
}

void Session::start() {
    connected_at_ = last_command_at_ = std::chrono::steady_clock::now();
    const bool implicit_tls = entry_ == Entry::implicit_tls;
    log::info(cat(describe(), " connected to ", local_.to_string(), implicit_tls ? " (implicit TLS)" : ""));
    arm_timer();
    if (implicit_tls) return begin_control_tls(begin_command());  // the banner follows the handshake
    reply(220, ctx_.config.banner);
    read_control();
}

std::string Session::describe() const {
    return cat("session ", id_, ' ', peer_.ip(), login_ == LoginState::logged_in ? " " : "",
               login_ == LoginState::logged_in ? user_ : "");
}

// ---- reading and the queue ----

void Session::read_control() {
    if (reading_ || finished_ || close_when_flushed_ || tls_handshaking_) return;
    reading_ = true;
    control_->read_some(read_buffer_, [this](Error err, std::uint64_t n) { on_control_read(err, n); });
}

void Session::on_control_read(Error err, std::uint64_t n) {
    reading_ = false;
    if (err || n == 0) {
        finish(err ? cat("control connection error: ", err.message()) : std::string("client closed"));
        return;
    }
    std::vector<ParsedLine> lines;
    parser_.feed(std::span<const char>(read_buffer_.data(), n), lines);
    for (auto& line : lines) {
        take_line(std::move(line));
        if (finished_) return;
    }
    run_queue();
    if (!finished_ && queue_.size() < kMaxQueuedLines) read_control();
}

void Session::take_line(ParsedLine line) {
    const bool working = transferring() || hash_cancel_;
    if (working && !line.overlong && answered_during_transfer(split_command(line.text).verb)) {
        execute(line);
        return;
    }
    queue_.push_back(std::move(line));
}

void Session::run_queue() {
    while (!busy_ && !finished_ && !close_when_flushed_ && !queue_.empty() && out_.size() <= kMaxUnsentReplies) {
        ParsedLine line = std::move(queue_.front());
        queue_.erase(queue_.begin());  // at most kMaxQueuedLines
        execute(line);
    }
    if (!finished_ && !reading_ && queue_.size() < kMaxQueuedLines) read_control();
}

CommandToken Session::begin_command() {
    busy_ = true;
    return CommandToken(reactor_, lifetime_.token(), [this] { command_finished(); });
}

void Session::command_finished() {
    busy_ = false;
    if (shutting_down_ && !transferring()) {
        close_now(421, "Server shutting down.");
        return;
    }
    run_queue();
}

void Session::execute(const ParsedLine& line) {
    last_command_at_ = std::chrono::steady_clock::now();
    if (line.overlong) {
        current_verb_ = "(overlong line)";
        reply(500, "Command line too long.");
        return;
    }
    const Command command = split_command(line.text);
    current_verb_ = loggable(command);
    if (command.verb.empty()) {
        reply(500, "Syntax error, command unrecognized.");
        return;
    }
    const CommandSpec* spec = find_command(command.verb);
    if (!spec) {
        reply(502, "Command not implemented.");
        return;
    }
    if (spec->access == Access::logged_in && login_ != LoginState::logged_in) {
        reply(530, "Please login with USER and PASS.");
        return;
    }
    if (spec->argument == Argument::required && command.arg.empty()) {
        reply(501, "Syntax error in parameters or arguments.");
        return;
    }
    (this->*spec->handler)(command.arg);
}

// ---- replies ----

void Session::reply(int code, std::string_view text) {
    out_ += cat(code, ' ', fs::displayed_name(text), "\r\n");
    if (code >= 400) log_refusal(code, fs::displayed_name(text));
    flush();
}

void Session::reply_lines(int code, const std::vector<std::string>& lines) {
    // RFC 959 multi-line: "123-first", middle lines as they are (indented if they start with a
    // digit), "123 last".
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const bool first = i == 0, last = i + 1 == lines.size();
        // Names inside replies must not end a line early: CR/LF become '?'.
        const std::string line = fs::displayed_name(lines[i]);
        if (first || last) {
            out_ += cat(code, last ? ' ' : '-', line, "\r\n");
        } else {
            const bool starts_with_digit = !line.empty() && line[0] >= '0' && line[0] <= '9';
            out_ += cat(starts_with_digit ? " " : "", line, "\r\n");
        }
    }
    flush();
}

void Session::log_refusal(int code, std::string_view text) {
    log::info(cat(describe(), " refused \"", current_verb_, "\": ", code, ' ', text));
}

void Session::flush() {
    if (writing_ || finished_) return;
    if (out_.empty()) {
        if (close_when_flushed_) return finish("closed after reply");
        if (after_flush_) std::exchange(after_flush_, nullptr)();
        return;
    }
    writing_ = true;
    out_writing_.swap(out_);
    out_.clear();
    control_->write_all(out_writing_, [this](Error err, std::uint64_t) {
        writing_ = false;
        // An idle session keeps no reply buffers: FEAT or a listing over STAT would otherwise
        // leave their size behind in both strings, which swap.
        std::string().swap(out_writing_);
        if (out_.empty()) std::string().swap(out_);
        if (err) return finish(cat("control write failed: ", err.message()));
        flush();
        if (!finished_ && !busy_ && !queue_.empty()) run_queue();  // it may have waited for these to go
    });
}

void Session::close_after_reply() {
    if (!close_when_flushed_) closing_since_ = std::chrono::steady_clock::now();
    close_when_flushed_ = true;
    arm_timer();
    flush();
}

void Session::close_now(int code, std::string_view text) {
    if (finished_) return;
    if (transfers_) transfers_->abort();
    reply(code, text);
    close_after_reply();
}

void Session::begin_shutdown() {
    shutting_down_ = true;
    if (hash_cancel_) {  // a HASH does not hold the drain up: cancelled and answered, then the 421
        abort_hash();
        reply(451, "HASH aborted: the server is shutting down.");
        return hash_command_.complete();
    }
    if (!transferring() && !busy_) close_now(421, "Server shutting down.");
}

void Session::finish(std::string_view reason) {
    if (finished_) return;
    finished_ = true;
    stop_awaiting_login();
    log::info(cat(describe(), " disconnected: ", reason));
    if (timer_) reactor_.cancel_timer(timer_);
    timer_ = 0;
    if (transfers_) transfers_->abort();
    abort_hash();
    control_->cancel();
    // The owner destroys us after the current callback has returned.
    auto done = on_finished_;
    reactor_.defer([done, self = this] { done(self); });
}

// ---- timers: idle, login, data progress and the close-flush limit, one timer at a time ----

void Session::arm_timer() {
    if (timer_) reactor_.cancel_timer(timer_);
    const auto& config = ctx_.config;
    auto wait = login_ == LoginState::logged_in ? std::chrono::milliseconds(config.idle_timeout)
                                               : std::chrono::milliseconds(std::min(config.login_timeout, config.login_timeout_busy));
    if (transferring()) wait = std::min<std::chrono::milliseconds>(wait, config.data_timeout);
    if (close_when_flushed_) wait = kCloseFlushLimit;
    timer_ = reactor_.add_timer(wait / 4 + std::chrono::milliseconds(10), [this] {
        timer_ = 0;
        on_timer();
    });
}

void Session::on_timer() {
    const auto now = std::chrono::steady_clock::now();
    const auto& config = ctx_.config;
    if (close_when_flushed_) {
        if (now - closing_since_ > kCloseFlushLimit) return finish("client did not read its last replies");
    } else if (transferring()) {
        transfers_->check_progress(now);
    } else if (login_ != LoginState::logged_in && now - connected_at_ > ctx_.login_timeout()) {
        // Also while busy: a client stalled in the TLS handshake holds the session otherwise.
        return close_now(421, "Login timeout.");
    } else if (!busy_ && now - last_command_at_ > config.idle_timeout) {
        return close_now(421, "Timeout.");
    }
    if (!finished_) arm_timer();
}

}  // namespace ferry::proto
