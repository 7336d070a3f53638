// One client's control connection: the FTP state machine.
//
// Lives on one reactor thread and never blocks it: argon2id, directory scans and other slow work go
// to the worker pool (on_pool), and come back through the reactor only if the session still exists.
// Commands run one at a time in arrival order. While a command waits (login check, listing scan,
// transfer), later lines queue up, except ABOR, STAT, NOOP and QUIT during a transfer, which are
// answered at once (RFC 959 4.1.3). A command that finishes later holds the CommandToken that
// begin_command() hands out; the queue goes on when it is completed. The transfer half is a
// TransferControl of its own; the rest of the state is in small types, each written by the
// commands of one file: ControlLine and SessionPhase (session.cpp), Login (session_login.cpp),
// TlsState (session_tls.cpp), HashState (session_hash.cpp), Choices (RNFR, TYPE, EPSV ALL).
#pragma once
#include "auth/accounts.hpp"
#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "fs/hash.hpp"
#include "fs/home.hpp"
#include "fs/listing_stream.hpp"
#include "fs/quota.hpp"
#include "proto/place.hpp"
#include "net/reactor.hpp"
#include "net/stream.hpp"
#include "proto/access_need.hpp"
#include "proto/command_parser.hpp"
#include "proto/command_token.hpp"
#include "proto/server_context.hpp"
#include "proto/transfer.hpp"
#include "proto/transfer_control.hpp"
#include "proto/xferlog.hpp"

#include <chrono>
#include <atomic>
#include <optional>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proto {

// A wrong password or an unknown user is a guess, which the defender counts; a disabled or
// blocked account, or a home that cannot be opened, is a refusal.
enum class LoginFailure { guess, refusal };
struct LoginCheck;  // session_login.cpp

enum class SessionEntry { plain, implicit_tls };  // implicit_tls: TLS starts before the banner

// Where a session stands. One command runs at a time: `command` while it holds its CommandToken,
// `tls_handshake` while that command (AUTH TLS, or the implicit-TLS entry) has the control
// connection in its handshake, when nothing may be read. `closing`: the last replies go out, then
// the connection closes; `finished`: closed, and destroyed once the current callback returns.
enum class SessionPhase { idle, command, tls_handshake, closing, finished };

// The control connection's I/O: the stream, the parser and the lines queued behind the running
// command, and the replies on their way out (session.cpp).
struct ControlLine {
    // `client`: the PROXY header's address when there was one; else the stream's peer.
    ControlLine(std::unique_ptr<net::Stream> control, std::optional<net::Address> client, std::size_t max_line,
                std::size_t read_size)
        : stream(std::move(control)), local(stream->local_address()), peer(client ? *client : stream->peer_address()),
          parser(max_line), read_buffer(read_size) {}
    std::unique_ptr<net::Stream> stream;
    net::Address local;
    net::Address peer;  // the client (the PROXY header's, behind a load balancer)
    CommandParser parser;
    std::vector<char> read_buffer;
    std::vector<ParsedLine> queue;  // a vector: an empty deque holds ~600 bytes, on every idle session
    bool reading = false;
    std::string out;          // replies not yet handed to the stream
    std::string out_writing;  // replies being written
    bool writing = false;
    UniqueTask after_flush;    // runs once every reply so far has been written
    std::string current_verb;  // the running command, as log lines show it
};

// The session's clocks: one timer at a time covers idle, login, data progress and the close-flush
// limit (session.cpp).
struct SessionTimes {
    net::Reactor::TimerId timer = 0;
    std::chrono::steady_clock::time_point connected_at;
    std::chrono::steady_clock::time_point last_command;
    std::chrono::steady_clock::time_point closing_since;  // closing: the flush limit counts from here
};

// Counted in ServerContext::awaiting_login (the acceptor counted the connection in) until login
// or the end, whichever comes first.
class AwaitingLogin {
public:
    explicit AwaitingLogin(std::atomic<unsigned>& count) : count_(&count) {}
    AwaitingLogin(const AwaitingLogin&) = delete;
    AwaitingLogin& operator=(const AwaitingLogin&) = delete;
    ~AwaitingLogin() { release(); }
    void release() {
        if (count_) --*std::exchange(count_, nullptr);
    }

private:
    std::atomic<unsigned>* count_;
};

// Who the session is logged in as, and where it stands in that home (session_login.cpp).
struct Login {
    enum class Step { need_user, need_pass, checking, logged_in };
    explicit Login(std::atomic<unsigned>& awaiting_count) : awaiting(awaiting_count) {}
    bool logged_in() const { return step == Step::logged_in; }
    Step step = Step::need_user;
    std::string user;
    bool admin = false;                      // the account's, at login
    std::shared_ptr<const fs::Home> home;    // shared with the user's other sessions
    std::shared_ptr<fs::UserQuota> quota;    // shared with the user's other sessions
    std::shared_ptr<auth::UserPolicy> policy;  // shared with the user's other sessions
    std::shared_ptr<OpenFolders> folders;      // the shared folders this session has opened
    std::unique_ptr<auth::UserSessions::Slot> slot;  // while logged in, when max_sessions_per_user is set
    std::string cwd = "/";
    unsigned failures = 0;
    AwaitingLogin awaiting;
};

// FTPS on the control connection, and what it asks of data connections (session_tls.cpp).
struct TlsState {
    TlsState(SessionEntry how, std::shared_ptr<const net::TlsContext> server) : entry(how), context(std::move(server)) {}
    SessionEntry entry;
    // The server's context when the session began, for its whole life: control and data connections
    // must share one (its ticket keys let data connections resume the control session), also
    // after a reload gave new sessions a renewed certificate. Empty without TLS.
    std::shared_ptr<const net::TlsContext> context;
    bool control = false;       // the control connection is under TLS
    bool pbsz_done = false;
    bool protect_data = false;  // PROT P
    std::string tag;            // identifies the control session for data-connection resumption
};

// A HASH (or X*) in progress (session_hash.cpp).
struct HashState {
    fs::HashAlgo algo = fs::HashAlgo::sha256;  // OPTS HASH
    std::shared_ptr<std::atomic<bool>> cancel;  // set while a HASH runs
    CommandToken command;                       // the HASH's; ABOR completes it early
    bool running() const { return cancel != nullptr; }
};

// What commands leave for later ones: RNFR's name, TYPE, EPSV ALL, OPTS MLST.
struct Choices {
    std::string rename_from;
    DataType type = DataType::binary;
    bool epsv_all = false;
    fs::FactSet mlst_facts = fs::FactSet::standard();
};

class Session final : private TransferHost {
public:
    using OnFinished = std::function<void(Session*)>;
    using Entry = SessionEntry;
    // `client`: the address the PROXY protocol header named (behind a load balancer); the session
    // uses it, not the balancer's, for the PASV/PORT peer checks, limits, the defender and logs.
    Session(net::Reactor& reactor, ServerContext& context, std::unique_ptr<net::Stream> control, Entry entry,
            OnFinished on_finished, std::optional<net::Address> client = std::nullopt);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();
    // Server shutdown: an idle session is closed now with 421; a transferring one after its transfer.
    void begin_shutdown();
    // Close at once with `code text` (421 at the end of the shutdown grace).
    void close_now(int code, std::string_view text);
    // The account this session is logged in as; "" before login.
    std::string_view logged_in_user() const { return login_.logged_in() ? std::string_view(login_.user) : ""; }
    std::uint64_t id() const { return id_; }

private:
    using Handler = void (Session::*)(const std::string& arg);
    enum class Access { anyone, logged_in };
    enum class Argument { optional, required };
    struct CommandSpec {
        const char* verb;
        Handler handler;
        Access access;
        Argument argument;
    };
    static const CommandSpec* find_command(std::string_view verb);

    // ---- control connection (session.cpp)
    void read_control();
    void on_control_read(Error err, std::uint64_t n);
    void take_line(ParsedLine line);
    void run_queue();
    void execute(const ParsedLine& line);
    // The running command finishes later: it holds this token and completes it then.
    CommandToken begin_command();
    void command_finished();  // the token was completed: go on with the queue
    void reply(int code, std::string_view text) override;
    void reply_lines(int code, const std::vector<std::string>& lines);
    void flush();
    void close_after_reply();
    void finish(std::string_view reason);
    void arm_timer();
    void on_timer();
    log::Subject subject() const override;  // session 12, 127.0.0.1, alice: who a log line is about
    void renew_tls_ticket() override { line_.stream->offer_tls_ticket(); }
    void log_refusal(int code, std::string_view text);

    // Run `work` on the worker pool, then `then(result)` on this reactor if the session still lives.
    template <class Work, class Then>
    void on_pool(Work work, Then then, net::Lane lane = net::Lane::prompt);
    // A file request: its file-system `work` on the I/O pool, then `then(result)` here. Every
    // command that touches the home goes this way, and names what it needs of the access policy:
    // a request the policy refuses gets 550 and never runs. At most max_file_requests_per_user of
    // one user's requests are out at once: past that it is 450. Refused, `then` (with the token it
    // may hold) is dropped unrun.
    template <class Work, class Then>
    void on_io(const Need& need, Work work, Then then);
    // Whether the policy grants `need`; if not, the 550 and its log line are sent here.
    bool permitted(const Need& need);
    void refuse_permission(auth::Permissions what, const std::string& path, std::string_view detail = {});
    // The account's policy now (everything allowed before login, when no request is made).
    std::shared_ptr<const auth::EffectivePolicy> policy() const;
    template <class Work, class Then>
    void run_off_reactor(net::WorkerPool& pool, net::Lane lane, Work work, Then then);
    // The usual request: `work` on the I/O pool, `answer(result)` replies here, and the command
    // is complete.
    template <class Work, class Answer>
    void request(const Need& need, Work work, Answer answer);

    // ---- login and session-wide commands (session_login.cpp)
    void cmd_user(const std::string& arg);
    void cmd_pass(const std::string& arg);
    void finish_login(LoginCheck check, CommandToken command);
    void refuse_busy_user(unsigned limit, CommandToken command);
    // `answer`: a string literal (it is sent after login_fail_delay).
    void login_failed(std::string_view why, LoginFailure failure, CommandToken command,
                      std::string_view answer = "Login incorrect.");
    bool count_failed_login();
    void close_banned(std::string_view why);  // the defender's 421, logged with `why`
    void cmd_acct(const std::string& arg);
    void cmd_rein(const std::string& arg);
    void cmd_quit(const std::string& arg);
    void cmd_noop(const std::string& arg);
    void cmd_syst(const std::string& arg);
    void cmd_help(const std::string& arg);
    void cmd_feat(const std::string& arg);
    void cmd_opts(const std::string& arg);
    void cmd_stat(const std::string& arg);
    void cmd_type(const std::string& arg);
    void cmd_mode(const std::string& arg);
    void cmd_stru(const std::string& arg);
    void cmd_allo(const std::string& arg);
    void cmd_avbl(const std::string& arg);
    std::string quota_summary() const;  // "used U of L bytes (...), F bytes free"

    // ---- SITE: quota, passwords, accounts (session_site.cpp)
    void cmd_site(const std::string& arg);
    void site_help();
    void site_quota();
    void site_passwd(const std::string& args);
    void site_adduser(const std::string& args);
    void site_deluser(const std::string& args);
    void site_setquota(const std::string& args);
    void site_perm(const std::string& args);
    void site_groups(const std::string& args);
    void site_expire(const std::string& args);
    void site_register(const std::string& args);
    void site_chmod(const std::string& args);  // in session_files.cpp: a file operation
    bool require_admin();
    // Run `job` (argon2id, then a locked rewrite of the accounts file) on the worker pool, then reply
    // call on_success and then reply 200 `ok_text`, or reply the error the job returned (and its reason).
    using AccountJob = std::function<std::pair<Status, std::string>()>;
    void run_account_job(AccountJob job, std::string ok_text, std::function<void()> on_success = nullptr,
                         std::function<void()> on_failure = nullptr);

    // ---- HASH, RANG and the legacy X* digests (session_hash.cpp)
    void cmd_hash(const std::string& arg);
    void cmd_rang(const std::string& arg);
    void cmd_xmd5(const std::string& arg);
    void cmd_xsha1(const std::string& arg);
    void cmd_xsha256(const std::string& arg);
    void cmd_xsha512(const std::string& arg);
    void cmd_xcrc(const std::string& arg);
    void opts_hash(const std::string& value);
    void legacy_hash(fs::HashAlgo algo, const std::string& arg);
    // Hash [start, end) of a file on the worker pool; `respond(hex)` replies on success.
    using HashReply = std::function<void(const std::string& hex, std::uint64_t start, std::uint64_t end)>;
    void start_hash(const std::string& vpath, fs::HashAlgo algo, std::uint64_t start, std::uint64_t end,
                    HashReply respond);
    struct HashJob;  // what start_hash hands to run_hash (session_hash.cpp)
    void hash_opened(const std::string& vpath, File file, const sys::FileInfo& info, fs::HashAlgo algo,
                     std::uint64_t start, std::uint64_t end, HashReply respond, CommandToken command);
    void run_hash(std::shared_ptr<HashJob> job);
    void run_waited_hash(const std::shared_ptr<HashJob>& job);  // after an upload's digest, or the wait's limit
    void abort_hash();

    // ---- names and folders (session_files.cpp)
    std::string resolve(const std::string& arg) const;  // virtual path, "" when unusable
    // Where the virtual path `vpath` lands: the home, or the shared folder mounted there.
    Place place(const std::string& vpath) const;
    // Whether `vpath` lies above a mount point (a folder the mount needs, which the home may lack).
    bool above_mount(const std::string& vpath) const;
    // More components than max_depth: replies 550 "`what`: ..." and says true.
    bool too_deep(const std::string& vpath, std::string_view what);
    void reply_fs_error(Error err, std::string_view what);
    void cmd_pwd(const std::string& arg);
    void cmd_cwd(const std::string& arg);
    void cmd_cdup(const std::string& arg);
    void cmd_mkd(const std::string& arg);
    void cmd_rmd(const std::string& arg);
    void cmd_dele(const std::string& arg);
    void cmd_rnfr(const std::string& arg);
    void cmd_rnto(const std::string& arg);
    void cmd_size(const std::string& arg);
    void cmd_mdtm(const std::string& arg);
    void cmd_mfmt(const std::string& arg);
    void cmd_mlst(const std::string& arg);

    // ---- FTPS: AUTH TLS, PBSZ, PROT, CCC (session_tls.cpp)
    void cmd_auth(const std::string& arg);
    void cmd_pbsz(const std::string& arg);
    void cmd_prot(const std::string& arg);
    void cmd_ccc(const std::string& arg);
    void begin_control_tls(CommandToken command);
    bool tls_required() const { return ctx_.config.tls == TlsMode::required; }
    // What the next data connection must do (PROT P: TLS resuming the control session).
    DataProtection data_protection() const;

    // ---- data connection and transfers (session_transfer.cpp)
    void cmd_pasv(const std::string& arg);
    void cmd_epsv(const std::string& arg);
    void cmd_port(const std::string& arg);
    void cmd_eprt(const std::string& arg);
    void cmd_rest(const std::string& arg);
    void cmd_retr(const std::string& arg);
    void cmd_stor(const std::string& arg);
    void cmd_appe(const std::string& arg);
    void cmd_stou(const std::string& arg);
    void cmd_list(const std::string& arg);
    void cmd_nlst(const std::string& arg);
    void cmd_mlsd(const std::string& arg);
    void cmd_abor(const std::string& arg);
    enum class ListKind { list, nlst, mlsd };
    enum class ListTo { data_connection, control_connection };  // STAT <path> lists over control
    void start_listing(ListKind kind, const std::string& arg, ListTo to = ListTo::data_connection);
    fs::MountedEntries mounted_entries(const std::string& target) const;
    void send_listing(const std::string& target, std::string first, std::shared_ptr<fs::ListingStream> listing,
                      CommandToken command);
    // `command`: STOU's, which checked the folder first; STOR and APPE begin one.
    void store(const std::string& vpath, fs::WriteMode mode, CommandToken command = {});
    struct Stored {  // an upload's file, opened and cut to its offset
        std::string target;
        bool unique;  // STOU
        std::shared_ptr<File> file;
        sys::FileId id;
        std::uint64_t offset;
    };
    // A file opened for reading on the I/O pool (RETR, HASH), with what the open saw of it.
    struct OpenedToRead {
        Error err;
        std::shared_ptr<File> file{};
        sys::FileInfo info{};
    };
    static OpenedToRead open_to_read(const Place& place);
    struct Opened;  // what the I/O pool's half of store() hands back (session_transfer.cpp)
    static Opened open_for_upload(const Place& place, const auth::EffectivePolicy& policy, PendingDigests& pending,
                                  const std::string& target, fs::WriteMode mode, std::uint64_t rest, bool digests);
    void store_from(Stored stored, File reader, CommandToken command);
    void reply_quota_exceeded() override;
    // ---- hooks (session_hooks.cpp) ----
    bool hook_wanted(HookKind kind) const { return ctx_.hooks && ctx_.hooks->wants(kind); }
    HookEvent hook_event(HookKind kind, std::string path = {}) const;  // who, from where, which session
    // After a command's reply: the event, if a hook wants it.
    void hook_done(HookKind kind, const std::string& path, int reply_code, std::optional<std::string> target = {});
    void transfer_ended(XferKind kind, std::uint64_t bytes, bool complete, double seconds, int reply_code) override;
    void send_with_digests(HookEvent event, std::shared_ptr<UploadDigest> digest);
    // pre_upload: `go(command)` once every pre_upload hook allows the upload, else 550.
    void ask_pre_upload(const std::string& target, std::uint64_t offset, std::function<void(CommandToken)> go,
                        CommandToken command);
    void store_opening(const std::string& target, fs::WriteMode mode, std::uint64_t rest, CommandToken command);
    struct HookTransfer {  // the transfer under way, for its hook event
        std::string path;
        std::uint64_t offset = 0;
        std::shared_ptr<UploadDigest> digest;
    };
    std::optional<HookTransfer> hook_transfer_;
    QuotaDrain quota_drain() const;
    std::shared_ptr<UploadDigest> start_upload_digest(File reader, sys::FileId id, std::uint64_t offset);
    // Against `quota` (the home's or a shared folder's), in memory or shared by nodes; paced.
    std::unique_ptr<UploadBudget> upload_budget(std::shared_ptr<fs::UserQuota> quota);
    std::shared_ptr<fs::UserQuota> upload_quota_;  // of the last upload, for its 552
    // A place among the account's transfers at once (the policy's limit), held by the transfer's
    // command until it completes; nullptr without a limit; nullopt when refused (450 sent).
    using TransferSlot = std::shared_ptr<UserJobs::Slot>;
    std::optional<TransferSlot> take_transfer_slot();
    // The account's rate in `direction` as a transfer's pacer; nullptr without one.
    std::unique_ptr<Pacer> pacer_for(UserRates::Direction direction);
    // 150, open the data connection, run the transfer made by `make`, then 226/426/451/552.
    void run_transfer(std::string preliminary, TransferControl::MakeTransfer make, XferRecord record,
                      CommandToken command);
    XferRecord record_of(XferKind kind, const std::string& vpath) const;
    OffReactor transfer_storage();
    void set_active_target(const net::Address& target, std::string_view verb, std::string_view passive_verb);
    bool data_ready_or_refuse();

    net::Reactor& reactor_;
    ServerContext& ctx_;
    const std::uint64_t id_;
    OnFinished on_finished_;
    Lifetime lifetime_;  // pool jobs and timers that outlive the session are dropped
    ControlLine line_;
    SessionPhase phase_ = SessionPhase::idle;
    bool shutting_down_ = false;  // the server is: close once no command or transfer runs
    SessionTimes times_;
    Login login_;
    TlsState tls_;
    HashState hash_;
    Choices choices_;
    // The data connections, REST/RANG, the transfer in progress: made on first use (transfers()).
    std::unique_ptr<TransferControl> transfers_;
    TransferControl& transfers();
    bool transferring() const { return transfers_ && transfers_->active(); }
};

template <class Work, class Then>
void Session::on_pool(Work work, Then then, net::Lane lane) {
    run_off_reactor(ctx_.pool, lane, std::move(work), std::move(then));
}

template <class Work, class Then>
void Session::on_io(const Need& need, Work work, Then then) {
    if (!permitted(need)) return;
    auto slot = ctx_.file_requests.try_start(login_.user);
    if (!slot) {
        log::warn(subject(), cat("\"", line_.current_verb, "\" refused: ", ctx_.config.max_file_requests_per_user,
                      " file requests of this user in progress (max_file_requests_per_user)"));
        return reply(450, "Too many file operations in progress; try again.");
    }
    run_off_reactor(
        ctx_.io_pool, net::Lane::prompt,
        [work = std::move(work), held = std::move(slot)]() mutable {
            auto value = work();
            held.reset();  // the user's next request may start now
            return value;
        },
        std::move(then));
}

template <class Work, class Answer>
void Session::request(const Need& need, Work work, Answer answer) {
    on_io(need, std::move(work), [answer = std::move(answer), command = begin_command()](auto result) mutable {
        answer(std::move(result));
        command.complete();
    });
}

template <class Work, class Then>
void Session::run_off_reactor(net::WorkerPool& pool, net::Lane lane, Work work, Then then) {
    // Tasks are move-only (UniqueTask): the result and the continuation (a File, a CommandToken)
    // move along. The continuation travels on to the reactor's task, so once the work has run it
    // is destroyed on the reactor thread whatever happens.
    pool.submit([reactor = &reactor_, alive = lifetime_.token(), work = std::move(work), then = std::move(then)]() mutable {
        reactor->post([alive, then = std::move(then), value = work()]() mutable {
            if (alive.valid()) then(std::move(value));
        });
    }, lane);
}

}  // namespace ferry::proto
