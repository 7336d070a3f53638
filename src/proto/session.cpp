// Session lifecycle: the control connection's reads and writes, the command queue, timers.
#include "proto/session.hpp"

#include "base/metrics.hpp"

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
      on_finished_(std::move(on_finished)),
      line_(std::move(control), client, context.config.max_line, kReadBuffer),
      login_(context.awaiting_login),
      tls_(entry, context.tls.get()) {}

// Made at the first command that needs it (PASV, PORT, REST, RANG, a transfer): a session that
// logs in and idles never holds one (with its data channel, about 700 bytes).
TransferControl& Session::transfers() {
    if (!transfers_)
        transfers_ = std::make_unique<TransferControl>(
            reactor_, static_cast<TransferHost&>(*this), std::make_unique<DataChannel>(reactor_, line_.local, line_.peer), ctx_.xferlog,
            TransferRules{ctx_.config.data_timeout, ctx_.config.tls_session_reuse, tls_.context.get()});
    return *transfers_;
}

Session::~Session() {
    lifetime_.renew();  // tokens completed while the members go must not reach this session
    if (times_.timer) reactor_.cancel_timer(times_.timer);
}

void Session::start() {
    times_.connected_at = times_.last_command = std::chrono::steady_clock::now();
    const bool implicit_tls = tls_.entry == Entry::implicit_tls;
    log::info(subject(), cat("connected to ", line_.local.to_string(), implicit_tls ? " (implicit TLS)" : ""));
    arm_timer();
    if (implicit_tls) return begin_control_tls(begin_command());  // the banner follows the handshake
    reply(220, ctx_.config.banner);
    read_control();
}

log::Subject Session::subject() const {
    return log::Subject{id_, line_.peer.ip(), login_.logged_in() ? login_.user : std::string()};
}

// ---- reading and the queue ----

void Session::read_control() {
    if (line_.reading || (phase_ != SessionPhase::idle && phase_ != SessionPhase::command)) return;
    line_.reading = true;
    line_.stream->read_some(line_.read_buffer, [this](Error err, std::uint64_t n) { on_control_read(err, n); });
}

void Session::on_control_read(Error err, std::uint64_t n) {
    line_.reading = false;
    if (err || n == 0) {
        finish(err ? cat("control connection error: ", err.message()) : std::string("client closed"));
        return;
    }
    std::vector<ParsedLine> lines;
    line_.parser.feed(std::span<const char>(line_.read_buffer.data(), n), lines);
    for (auto& line : lines) {
        take_line(std::move(line));
        if (phase_ == SessionPhase::finished) return;
    }
    run_queue();
    if (phase_ != SessionPhase::finished && line_.queue.size() < kMaxQueuedLines) read_control();
}

void Session::take_line(ParsedLine line) {
    const bool working = transferring() || hash_.running();
    if (working && !line.overlong && answered_during_transfer(split_command(line.text).verb)) {
        execute(line);
        return;
    }
    line_.queue.push_back(std::move(line));
}

void Session::run_queue() {
    while (phase_ == SessionPhase::idle && !line_.queue.empty() && line_.out.size() <= kMaxUnsentReplies) {
        ParsedLine line = std::move(line_.queue.front());
        line_.queue.erase(line_.queue.begin());  // at most kMaxQueuedLines
        execute(line);
    }
    if (!line_.reading && line_.queue.size() < kMaxQueuedLines) read_control();
}

CommandToken Session::begin_command() {
    if (phase_ == SessionPhase::idle) phase_ = SessionPhase::command;
    return CommandToken(reactor_, lifetime_.token(), [this] { command_finished(); });
}

void Session::command_finished() {
    if (phase_ == SessionPhase::command || phase_ == SessionPhase::tls_handshake) phase_ = SessionPhase::idle;
    if (shutting_down_ && !transferring()) {
        close_now(421, "Server shutting down.");
        return;
    }
    run_queue();
}

void Session::execute(const ParsedLine& line) {
    times_.last_command = std::chrono::steady_clock::now();
    if (line.overlong) {
        line_.current_verb = "(overlong line)";
        reply(500, "Command line too long.");
        return;
    }
    const Command command = split_command(line.text);
    line_.current_verb = loggable(command);
    if (command.verb.empty()) {
        reply(500, "Syntax error, command unrecognized.");
        return;
    }
    const CommandSpec* spec = find_command(command.verb);
    if (!spec) {
        reply(502, "Command not implemented.");
        return;
    }
    if (spec->access == Access::logged_in && !login_.logged_in()) {
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
    line_.out += cat(code, ' ', fs::displayed_name(text), "\r\n");
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
            line_.out += cat(code, last ? ' ' : '-', line, "\r\n");
        } else {
            const bool starts_with_digit = !line.empty() && line[0] >= '0' && line[0] <= '9';
            line_.out += cat(starts_with_digit ? " " : "", line, "\r\n");
        }
    }
    flush();
}

void Session::log_refusal(int code, std::string_view text) {
    if (code >= 400 && code < 600) metrics::registry().refusals[static_cast<std::size_t>(code - 400)].add();
    log::info(subject(), cat("refused \"", line_.current_verb, "\": ", code, ' ', text));
}

void Session::flush() {
    if (line_.writing || phase_ == SessionPhase::finished) return;
    if (line_.out.empty()) {
        if (phase_ == SessionPhase::closing) return finish("closed after reply");
        if (line_.after_flush) std::exchange(line_.after_flush, nullptr)();
        return;
    }
    line_.writing = true;
    line_.out_writing.swap(line_.out);
    line_.out.clear();
    line_.stream->write_all(line_.out_writing, [this](Error err, std::uint64_t) {
        line_.writing = false;
        // An idle session keeps no reply buffers: FEAT or a listing over STAT would otherwise
        // leave their size behind in both strings, which swap.
        std::string().swap(line_.out_writing);
        if (line_.out.empty()) std::string().swap(line_.out);
        if (err) return finish(cat("control write failed: ", err.message()));
        flush();
        if (phase_ == SessionPhase::idle && !line_.queue.empty()) run_queue();  // it may have waited for these to go
    });
}

void Session::close_after_reply() {
    if (phase_ == SessionPhase::finished) return;
    if (phase_ != SessionPhase::closing) times_.closing_since = std::chrono::steady_clock::now();
    phase_ = SessionPhase::closing;
    arm_timer();
    flush();
}

void Session::close_now(int code, std::string_view text) {
    if (phase_ == SessionPhase::finished) return;
    if (transfers_) transfers_->abort();
    reply(code, text);
    close_after_reply();
}

void Session::begin_shutdown() {
    shutting_down_ = true;
    if (hash_.running()) {  // a HASH does not hold the drain up: cancelled and answered, then the 421
        abort_hash();
        reply(451, "HASH aborted: the server is shutting down.");
        return hash_.command.complete();
    }
    if (!transferring() && phase_ == SessionPhase::idle) close_now(421, "Server shutting down.");
}

void Session::finish(std::string_view reason) {
    if (phase_ == SessionPhase::finished) return;
    phase_ = SessionPhase::finished;
    login_.awaiting.release();
    log::info(subject(), cat("disconnected: ", reason));
    if (login_.logged_in() && hook_wanted(HookKind::logout)) {
        HookEvent event = hook_event(HookKind::logout);
        event.note = std::string(reason);
        ctx_.hooks->emit(std::move(event));
    }
    if (times_.timer) reactor_.cancel_timer(times_.timer);
    times_.timer = 0;
    if (transfers_) transfers_->abort();
    abort_hash();
    line_.stream->cancel();
    // The owner destroys us after the current callback has returned.
    auto done = on_finished_;
    reactor_.defer([done, self = this] { done(self); });
}

// ---- timers: idle, login, data progress and the close-flush limit, one timer at a time ----

void Session::arm_timer() {
    if (times_.timer) reactor_.cancel_timer(times_.timer);
    const auto& config = ctx_.config;
    auto wait = login_.logged_in() ? std::chrono::milliseconds(config.idle_timeout)
                                               : std::chrono::milliseconds(std::min(config.login_timeout, config.login_timeout_busy));
    if (transferring()) wait = std::min<std::chrono::milliseconds>(wait, config.data_timeout);
    if (phase_ == SessionPhase::closing) wait = kCloseFlushLimit;
    times_.timer = reactor_.add_timer(wait / 4 + std::chrono::milliseconds(10), [this] {
        times_.timer = 0;
        on_timer();
    });
}

void Session::on_timer() {
    const auto now = std::chrono::steady_clock::now();
    const auto& config = ctx_.config;
    if (phase_ == SessionPhase::closing) {
        if (now - times_.closing_since > kCloseFlushLimit) return finish("client did not read its last replies");
    } else if (transferring()) {
        transfers_->check_progress(now);
    } else if (!login_.logged_in() && now - times_.connected_at > ctx_.login_timeout()) {
        // Also while busy: a client stalled in the TLS handshake holds the session otherwise.
        return close_now(421, "Login timeout.");
    } else if (phase_ == SessionPhase::idle && now - times_.last_command > config.idle_timeout) {
        return close_now(421, "Timeout.");
    }
    if (phase_ != SessionPhase::finished) arm_timer();
}

}  // namespace ferry::proto
