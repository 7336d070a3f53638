// Workload 5: many clients, each fetching small files in a loop (PASV, RETR, wait for both the
// data EOF and the 226) for a fixed time. Latency is PASV sent → both done.
#include "login_session.hpp"
#include "workloads.hpp"

#include <memory>
#include <vector>

namespace bench {
namespace {

struct SmallFileTotals {
    Latencies latencies;
    std::size_t completed = 0, errors = 0, logged_in = 0, login_failed = 0, lost = 0;
    std::string first_error;
    Clock::time_point stop_at = Clock::time_point::max();
    void error(std::string_view why) {
        ++errors;
        if (first_error.empty()) first_error = std::string(why);
    }
};

class FileClient : public LoginSession, public DataSink::Owner {
public:
    FileClient(Reactor& reactor, const Target& target, SmallFileTotals& totals, std::vector<std::string> files,
               std::size_t expected_bytes)
        : LoginSession(reactor, target), totals_(totals), files_(std::move(files)), expected_bytes_(expected_bytes),
          data_(reactor, *this) {}

    // Sends the next PASV unless the measuring time is over.
    void next_request() {
        if (Clock::now() >= totals_.stop_at) {
            state_ = State::Finished;
            return;
        }
        state_ = State::Pasv;
        request_start_ = Clock::now();
        reply_done_ = data_done_ = false;
        request_ok_ = true;
        send_command("PASV");
    }
    bool ready() const { return state_ == State::Ready; }
    bool finished() const { return state_ == State::Finished || state_ == State::Ready; }

protected:
    void on_logged_in() override { send_command("TYPE I"); state_ = State::Type; }
    void on_login_failed() override { ++totals_.login_failed; state_ = State::Finished; }
    void on_session_closed() override {
        ++totals_.lost;
        data_.close_connection();
        state_ = State::Finished;
    }
    void on_session_reply(int code, std::string_view text) override {
        switch (state_) {
        case State::Type:
            state_ = State::Ready;
            ++totals_.logged_in;
            return;
        case State::Pasv:
            return on_pasv_reply(code, text);
        case State::Retr:
            return on_retr_reply(code, text);
        default:
            return;
        }
    }
    void on_data_done(bool ok, std::size_t bytes) override {
        data_done_ = true;
        if (!ok || bytes != expected_bytes_) fail_request("short or failed data transfer");
        maybe_complete();
    }

private:
    enum class State { Login, Type, Ready, Pasv, Retr, Finished };

    void on_pasv_reply(int code, std::string_view text) {
        auto addr = code == 227 ? parse_pasv(text) : std::nullopt;
        if (!addr || !data_.open(*addr)) {
            fail_request(text);
            return next_request();
        }
        state_ = State::Retr;
        send_command("RETR " + files_[next_file_++ % files_.size()]);
    }

    void on_retr_reply(int code, std::string_view text) {
        if (code / 100 == 1) return;  // 150/125: transfer starting
        if (code / 100 != 2) {
            fail_request(text);
            data_.close_connection();
            data_done_ = true;
        }
        reply_done_ = true;
        maybe_complete();
    }

    void maybe_complete() {
        if (!reply_done_ || !data_done_) return;
        // Only requests finished inside the measuring window count.
        if (request_ok_ && Clock::now() <= totals_.stop_at) {
            ++totals_.completed;
            totals_.latencies.add(Clock::now() - request_start_);
        }
        next_request();
    }

    // Counts each failed request once, however many of its parts failed.
    void fail_request(std::string_view why) {
        if (request_ok_) totals_.error(why);
        request_ok_ = false;
    }

    SmallFileTotals& totals_;
    std::vector<std::string> files_;
    std::size_t expected_bytes_;
    DataSink data_;
    State state_ = State::Login;
    std::size_t next_file_ = 0;
    Clock::time_point request_start_;
    bool reply_done_ = false, data_done_ = false, request_ok_ = true;
};

std::vector<std::string> file_names(const Options& options) {
    std::vector<std::string> names;
    auto count = options.number("files", 100);
    std::string prefix = options.text("prefix", "small/f");
    for (std::int64_t i = 0; i < count; ++i) {
        char suffix[24];
        std::snprintf(suffix, sizeof suffix, "%03lld", static_cast<long long>(i));
        names.push_back(prefix + suffix);
    }
    return names;
}

}  // namespace

int run_smallfiles(const Options& options) {
    raise_fd_limit();
    Target target = target_from(options);
    sockaddr_in server = make_address(target.host, target.port);
    auto clients_wanted = static_cast<std::size_t>(options.number("clients", 200));
    auto seconds = options.number("seconds", 10);
    auto names = file_names(options);
    auto expected = static_cast<std::size_t>(options.number("file-size", 4096));

    Reactor reactor;
    SmallFileTotals totals;
    std::vector<std::unique_ptr<FileClient>> clients;
    // Log everyone in first (bounded), 50 at a time, then start the clock for all at once.
    auto login_deadline = Clock::now() + std::chrono::seconds(options.number("login-seconds", 60));
    std::size_t launched = 0;
    auto settled = [&] { return totals.logged_in + totals.login_failed + totals.lost; };
    while (launched < clients_wanted && Clock::now() < login_deadline) {
        std::size_t batch = std::min<std::size_t>(50, clients_wanted - launched);
        for (std::size_t i = 0; i < batch; ++i, ++launched) {
            clients.push_back(std::make_unique<FileClient>(reactor, target, totals, names, expected));
            clients.back()->start_login(server);
        }
        reactor.run(login_deadline, [&] { return settled() >= launched; });
    }
    auto start = Clock::now();
    totals.stop_at = start + std::chrono::seconds(seconds);
    for (auto& c : clients)
        if (c->ready()) c->next_request();
    // Let requests in flight at the stop drain a little, so connections close cleanly.
    reactor.run(totals.stop_at + std::chrono::seconds(2), [&] {
        if (Clock::now() < totals.stop_at) return false;
        for (auto& c : clients)
            if (!c->finished()) return false;
        return true;
    });
    double elapsed = std::chrono::duration<double>(totals.stop_at - start).count();
    ResultLine()
        .add("clients", static_cast<std::int64_t>(totals.logged_in))
        .add("login_failed", static_cast<std::int64_t>(totals.login_failed))
        .add("completed", static_cast<std::int64_t>(totals.completed))
        .add("errors", static_cast<std::int64_t>(totals.errors))
        .add("lost", static_cast<std::int64_t>(totals.lost))
        .add("files_per_s", static_cast<double>(totals.completed) / elapsed)
        .add("p50_ms", totals.latencies.percentile_ms(50))
        .add("p99_ms", totals.latencies.percentile_ms(99))
        .add("first_error", totals.first_error.substr(0, 60))
        .print();
    return 0;
}

}  // namespace bench
