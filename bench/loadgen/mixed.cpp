// The mixed workload: clients that each loop over the commands a user of a file server makes
// (CWD, LIST, SIZE, RETR, STOR, DELE), each in a folder of its own, for a fixed time, while one
// logged-in session sends NOOP on a timer. Reports operations per second for all clients, and the
// idle session's NOOP latency and the share of the run it spent waiting. Run with the homes on
// slow storage (bench/slowfs) it shows whether one user's slow metadata call stalls the others.
#include "noop_probe.hpp"
#include "workloads.hpp"

#include <array>
#include <memory>
#include <vector>

namespace bench {
namespace {

struct MixedTotals {
    std::size_t operations = 0, errors = 0, logged_in = 0, login_failed = 0, lost = 0;
    std::array<std::size_t, 6> per_step{};
    std::string first_error;
    Clock::time_point stop_at = Clock::time_point::max();
    void error(std::string_view why) {
        ++errors;
        if (first_error.empty()) first_error = std::string(why);
    }
};

// One client's loop. A data step (LIST, RETR, STOR) is PASV, then the command; it is done when
// both the data connection and the final reply are.
class MixedClient : public LoginSession, public DataSink::Owner, public DataSource::Owner {
public:
    MixedClient(Reactor& reactor, const Target& target, MixedTotals& totals, std::string folder, std::size_t file_size)
        : LoginSession(reactor, target), totals_(totals), folder_(std::move(folder)), file_size_(file_size),
          sink_(reactor, *this), source_(reactor, *this) {}

    bool ready() const { return phase_ == Phase::Ready; }
    bool finished() const { return phase_ == Phase::Finished || phase_ == Phase::Ready; }
    void begin() { next_step(); }

protected:
    void on_logged_in() override { send_command("TYPE I"); phase_ = Phase::Type; }
    void on_login_failed() override { ++totals_.login_failed; phase_ = Phase::Finished; }
    void on_session_closed() override {
        ++totals_.lost;
        sink_.close_connection();
        source_.close_connection();
        phase_ = Phase::Finished;
    }
    void on_session_reply(int code, std::string_view text) override {
        switch (phase_) {
        case Phase::Type:
            ++totals_.logged_in;
            phase_ = Phase::Ready;
            return;
        case Phase::Command:
            if (code / 100 != 2) fail_step(text);
            return step_done();
        case Phase::Pasv:
            return on_pasv(code, text);
        case Phase::Transfer:
            if (code / 100 == 1) return;  // 150/125
            if (code / 100 != 2) {
                fail_step(text);
                sink_.close_connection();
                source_.close_connection();
                data_done_ = true;
            }
            reply_done_ = true;
            return transfer_part_done();
        default:
            return;
        }
    }
    void on_data_done(bool ok, std::size_t bytes) override {
        if (!ok || (step_ == Step::Retr && bytes != file_size_)) fail_step("short or failed download");
        data_done_ = true;
        transfer_part_done();
    }
    void on_upload_sent(bool ok) override {
        if (!ok) fail_step("failed upload");
        data_done_ = true;
        transfer_part_done();
    }

private:
    enum class Phase { Login, Type, Ready, Command, Pasv, Transfer, Finished };
    enum class Step { Cwd, List, Size, Retr, Stor, Dele };
    static constexpr std::size_t step_count = 6;

    void next_step() {
        if (Clock::now() >= totals_.stop_at) {
            phase_ = Phase::Finished;
            return;
        }
        step_ok_ = true;
        switch (step_) {
        case Step::Cwd: return command("CWD /" + folder_);
        case Step::Size: return command("SIZE f.bin");
        case Step::Dele: return command("DELE up.bin");
        case Step::List:
        case Step::Retr:
        case Step::Stor:
            phase_ = Phase::Pasv;
            reply_done_ = data_done_ = false;
            return send_command("PASV");
        }
    }

    void command(const std::string& line) {
        phase_ = Phase::Command;
        send_command(line);
    }

    void on_pasv(int code, std::string_view text) {
        auto addr = code == 227 ? parse_pasv(text) : std::nullopt;
        bool opened = addr && (step_ == Step::Stor ? source_.open(*addr, file_size_) : sink_.open(*addr));
        if (!opened) {
            fail_step(text);
            return step_done();
        }
        phase_ = Phase::Transfer;
        send_command(step_ == Step::List ? "LIST" : step_ == Step::Retr ? "RETR f.bin" : "STOR up.bin");
    }

    void transfer_part_done() {
        if (reply_done_ && data_done_) step_done();
    }

    void step_done() {
        // Only steps finished inside the measuring window count.
        if (step_ok_ && Clock::now() <= totals_.stop_at) {
            ++totals_.operations;
            ++totals_.per_step[static_cast<std::size_t>(step_)];
        }
        step_ = static_cast<Step>((static_cast<std::size_t>(step_) + 1) % step_count);
        next_step();
    }

    void fail_step(std::string_view why) {
        if (step_ok_) totals_.error(why);
        step_ok_ = false;
    }

    MixedTotals& totals_;
    std::string folder_;
    std::size_t file_size_;
    DataSink sink_;
    DataSource source_;
    Phase phase_ = Phase::Login;
    Step step_ = Step::Cwd;
    bool reply_done_ = false, data_done_ = false, step_ok_ = true;
};

}  // namespace

int run_mixed(const Options& options) {
    raise_fd_limit();
    Target target = target_from(options);
    sockaddr_in server = make_address(target.host, target.port);
    auto clients_wanted = static_cast<std::size_t>(options.number("clients", 16));
    auto seconds = options.number("seconds", 20);
    auto file_size = static_cast<std::size_t>(options.number("file-size", 65536));
    std::string prefix = options.text("prefix", "mixed/c");

    Reactor reactor;
    NoopProbe probe(reactor, target);
    probe.start_login(server);
    MixedTotals totals;
    std::vector<std::unique_ptr<MixedClient>> clients;
    for (std::size_t i = 0; i < clients_wanted; ++i) {
        clients.push_back(std::make_unique<MixedClient>(reactor, target, totals, prefix + std::to_string(i), file_size));
        clients.back()->start_login(server);
    }
    auto settled = [&] { return totals.logged_in + totals.login_failed + totals.lost >= clients_wanted; };
    const auto login_start = Clock::now();
    reactor.run(Clock::now() + std::chrono::seconds(options.number("login-seconds", 60)),
                [&] { return settled() && (probe.ready || probe.failed); });
    if (!probe.ready) {
        ResultLine().add("error", "probe_login_failed:" + probe.failure()).print();
        return 1;
    }
    const double login_s = seconds_since(login_start);  // the first login of a user may measure its home
    ResultLine().add("stage", "logged_in").add("login_s", login_s).print();  // the harness notes its counters
    Latencies noops;
    probe.record_into = &noops;
    PeriodicTimer timer(reactor, std::chrono::milliseconds(options.number("interval-ms", 50)), [&] { probe.tick(); });
    auto start = Clock::now();
    totals.stop_at = start + std::chrono::seconds(seconds);
    for (auto& c : clients)
        if (c->ready()) c->begin();
    reactor.run(totals.stop_at, [] { return false; });
    // The NOOP still unanswered at the stop counts as waited so far.
    double waited_ms = noops.total_ms() + std::chrono::duration<double, std::milli>(probe.waiting()).count();
    probe.record_into = nullptr;
    // Let the steps in flight drain a little, so connections close cleanly.
    reactor.run(totals.stop_at + std::chrono::seconds(2), [&] {
        for (auto& c : clients)
            if (!c->finished()) return false;
        return true;
    });
    double elapsed = std::chrono::duration<double>(totals.stop_at - start).count();
    static constexpr const char* step_names[] = {"cwd", "list", "size", "retr", "stor", "dele"};
    ResultLine line;
    line.add("clients", static_cast<std::int64_t>(totals.logged_in))
        .add("login_s", login_s)
        .add("login_failed", static_cast<std::int64_t>(totals.login_failed))
        .add("operations", static_cast<std::int64_t>(totals.operations))
        .add("ops_per_s", static_cast<double>(totals.operations) / elapsed)
        .add("errors", static_cast<std::int64_t>(totals.errors))
        .add("lost", static_cast<std::int64_t>(totals.lost))
        .add("noops", static_cast<std::int64_t>(noops.count()))
        .add("noop_p50_ms", noops.percentile_ms(50))
        .add("noop_p99_ms", noops.percentile_ms(99))
        .add("noop_max_ms", noops.percentile_ms(100))
        .add("waited_share", waited_ms / (elapsed * 1000.0))
        .add("probe_lost", static_cast<std::int64_t>(probe.lost));
    for (std::size_t i = 0; i < 6; ++i) line.add(step_names[i], static_cast<std::int64_t>(totals.per_step[i]));
    line.add("first_error", totals.first_error.substr(0, 60)).print();
    return 0;
}

}  // namespace bench
